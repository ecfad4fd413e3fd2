"""The console's key-customer page: a relationship manager's key customers nobody contacted
lately, and recording a contact; it runs the staff API's endpoints (role, validation, audit)."""

from __future__ import annotations

from club.clock import FixedClock
from club.db.models.service import StaffContact
from club.db.models.staff import AuditLog
from club.value.managers import assign_manager
from tests.club.campaign_support import member
from tests.club.value.fixtures import valued
from tests.console.support import Client, page_token, sign_in, staff_with_password


async def test_a_manager_sees_the_forgotten_key_customers_and_records_a_contact(
    console_client: Client, clock: FixedClock
) -> None:
    now = clock.now()
    key = await member("o-key", now, tier="gold", name="王总")
    await valued(key.id, now)
    kim = await staff_with_password("kim", "clerk")
    ada = await staff_with_password("ada", "admin")
    await assign_manager(key.id, kim, now=now, actor_id=ada)

    await sign_in(console_client, "ada")  # an admin opens another manager's list
    page = await (await console_client.get(f"/console/key-customers?staff={kim}")).text()
    assert "王总" in page and "从未联系" in page

    console_client.session.cookie_jar.clear()
    await sign_in(console_client, "kim")
    page = await (await console_client.get("/console/key-customers?days=30")).text()
    assert 'href="/console/key-customers"' in page  # in the menu
    assert "王总" in page and "从未联系" in page
    token = await page_token(console_client, "/console/key-customers")
    bad = await console_client.post(
        f"/console/key-customers/{key.id}/contacts",
        data={"csrf_token": token, "channel": "pigeon", "note": ""},
    )
    assert bad.status == 422 and "channel" in await bad.text()
    assert await StaffContact.all().count() == 0
    resp = await console_client.post(
        f"/console/key-customers/{key.id}/contacts",
        data={"csrf_token": token, "channel": "phone", "note": "电话回访", "back": "/elsewhere"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/console/key-customers"
    page = await (await console_client.get("/console/key-customers")).text()
    assert "王总" not in page and "没有需要跟进的重点客户" in page
    contact = await StaffContact.get(member_id=key.id)
    assert (contact.staff_id, contact.channel, contact.note) == (kim, "phone", "电话回访")
    logged = await AuditLog.filter(action="contact.log").order_by("-id").first()
    assert logged is not None
    assert logged.summary["via"] == "console" and logged.staff_name == "kim"
    # A clerk cannot open another manager's list: the parameter is not theirs to use.
    page = await (await console_client.get(f"/console/key-customers?staff={ada}")).text()
    assert "没有需要跟进的重点客户" in page
