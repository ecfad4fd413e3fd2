"""Relationship managers: key customers only, and who has not been contacted for N days."""

from __future__ import annotations

from datetime import timedelta

from club.clock import FixedClock
from club.db.models.staff import StaffUser
from tests.bot.test_staff_api_support import (
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)
from tests.bot.test_staff_api_tickets import value


async def test_managers_see_their_forgotten_key_customers(
    client: Client, clock: FixedClock
) -> None:
    staff = await staff_headers()
    marketer, clerk = staff["marketer"], staff["clerk"]
    clerk_id = (await StaffUser.get(name="clerk-1")).id
    vip = await joined_member("oVip", name="赵总")
    vip2 = await joined_member("oVip2", name="钱总")
    plain = await joined_member("oPlain", name="孙")
    for member, cls in ((vip, "A"), (vip2, "A"), (plain, "B")):
        await value(member.id, cls, clock)

    url = "/api/v1/members/{}/manager"
    resp = await client.put(url.format(plain.id), json={"staff_id": clerk_id}, headers=marketer)
    assert (await error_of(resp, 409))["code"] == "not_key_customer"
    for member in (vip, vip2):
        resp = await client.put(
            url.format(member.id), json={"staff_id": clerk_id}, headers=marketer
        )
        body = await resp.json()
        assert resp.status == 200 and body["changed"] and body["staff_name"] == "clerk-1"
    same = await client.put(url.format(vip.id), json={"staff_id": clerk_id}, headers=marketer)
    assert not (await same.json())["changed"]
    await error_of(
        await client.put(url.format(vip.id), json={"staff_id": clerk_id}, headers=clerk), 403
    )
    missing = await client.put(url.format(vip.id), json={"staff_id": 999}, headers=marketer)
    assert (await error_of(missing, 422))["message"].startswith("staff_id:")

    # The manager called 赵总 today; nobody ever contacted 钱总.
    logged = await client.post(
        f"/api/v1/members/{vip.id}/contacts",
        json={"channel": "phone", "note": "中秋问候"},
        headers=clerk,
    )
    assert logged.status == 201
    mine = await (
        await client.get("/api/v1/managers/neglected", params={"days": "30"}, headers=clerk)
    ).json()
    assert [(c["name"], c["last_contact_at"]) for c in mine["customers"]] == [("钱总", None)]
    clock.advance(timedelta(days=31))
    later = await (
        await client.get("/api/v1/managers/neglected", params={"days": "30"}, headers=clerk)
    ).json()
    assert [c["name"] for c in later["customers"]] == ["钱总", "赵总"]
    # Another manager's list: admins and marketers only.
    other = {"staff_id": str(clerk_id), "days": "30"}
    assert (
        await client.get("/api/v1/managers/neglected", params=other, headers=marketer)
    ).status == 200
    marketer_id = (await StaffUser.get(name="marketer-1")).id
    peek = {"staff_id": str(marketer_id)}
    await error_of(await client.get("/api/v1/managers/neglected", params=peek, headers=clerk), 403)
    actions = {r.action for r in await audit_rows()}
    assert {"manager.assign", "contact.log", "manager.neglected"} <= actions
