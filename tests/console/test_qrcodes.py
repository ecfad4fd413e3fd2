"""The QR codes of a store and of a staff member on the console: made once through the staff
API's endpoint (WeChat's qrcode/create, the ticket kept, audited via: console), shown, and
downloaded for printing."""

from __future__ import annotations

import re
from html import unescape

import pytest
import segno

from club.db.models.ledger import Store
from club.db.models.staff import AuditLog, StaffUser
from config import Settings
from tests.conftest import make_settings
from tests.console.support import Client, page_token, sign_in, staff_with_password
from tests.fakes import FakeWeChat

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def settings(fake_wechat: FakeWeChat) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url)


def image_of(page: str) -> str:
    found = re.search(r'<img class="qr-code" src="([^"]+)"', page)
    assert found, "no QR image on the page"
    return unescape(found.group(1))


async def new_store(client: Client, token: str) -> None:
    form = {"csrf_token": token, "id": "SH-01", "name": "上海旗舰店", "channel_level": "dealer"}
    resp = await client.post("/console/stores", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()


async def test_a_store_qr_code_is_made_once_shown_and_downloaded(
    console_client: Client, fake_wechat: FakeWeChat
) -> None:
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    await new_store(console_client, await page_token(console_client, "/console/stores"))
    listing = await (await console_client.get("/console/stores")).text()
    assert 'href="/console/stores/SH-01/qrcode"' in listing

    # Not made yet: the page offers to make it and asks WeChat nothing.
    page = await (await console_client.get("/console/stores/SH-01/qrcode")).text()
    assert "上海旗舰店" in page and "生成二维码" in page and 'class="qr-code"' not in page
    assert fake_wechat.count("qrcode/create") == 0
    token = await page_token(console_client, "/console/stores/SH-01/qrcode")
    resp = await console_client.post(
        "/console/stores/SH-01/qrcode", data={"csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == "/console/stores/SH-01/qrcode"
    [made] = fake_wechat.calls("qrcode/create")
    assert made.body["action_info"] == {"scene": {"scene_str": "store_SH-01"}}

    page = await (await console_client.get("/console/stores/SH-01/qrcode")).text()
    ticket = (await Store.get(id="SH-01")).qr_ticket
    assert ticket and ticket.startswith("TICKET_")
    # The image holds what WeChat answered the code holds; WeChat's own image is a link away.
    wechat_url = "http://weixin.qq.com/q/store_SH-01"
    assert image_of(page) == segno.make_qr(wechat_url, error="m").svg_data_uri(scale=8)
    assert wechat_url in page
    assert f"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket={ticket}" in page
    assert "store_SH-01" in page

    png = await console_client.get("/console/stores/SH-01/qrcode.png")
    assert png.status == 200 and png.content_type == "image/png"
    assert png.headers["Content-Disposition"] == 'attachment; filename="store_SH-01.png"'
    assert (await png.read()).startswith(PNG)
    svg = await console_client.get("/console/stores/SH-01/qrcode.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert "<svg" in await svg.text()

    # Asking again makes nothing new: the kept ticket is the code.
    await console_client.post("/console/stores/SH-01/qrcode", data={"csrf_token": token})
    assert fake_wechat.count("qrcode/create") == 1
    made_rows = await AuditLog.filter(action="store.qrcode").order_by("id")
    assert [(r.summary["via"], r.summary["created"]) for r in made_rows] == [
        ("console", True),
        ("console", False),
    ]


async def test_wechat_refusing_shows_the_error_and_keeps_nothing(
    console_client: Client, fake_wechat: FakeWeChat
) -> None:
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    token = await page_token(console_client, "/console/stores")
    await new_store(console_client, token)
    fake_wechat.script("qrcode/create", [48001])
    resp = await console_client.post("/console/stores/SH-01/qrcode", data={"csrf_token": token})
    assert resp.status == 502 and "48001" in await resp.text()
    assert (await Store.get(id="SH-01")).qr_ticket is None
    assert (await console_client.get("/console/stores/SH-01/qrcode.png")).status == 404
    # A closed store gets no code, and a store nobody created has no page.
    await console_client.post("/console/stores/SH-01/close", data={"csrf_token": token})
    closed = await console_client.get("/console/stores/SH-01/qrcode")
    assert closed.status == 409 and "closed" in await closed.text()
    assert (await console_client.get("/console/stores/NOPE/qrcode")).status == 404
    assert (await console_client.get("/console/stores/bad%20id/qrcode")).status == 404


async def test_a_clerk_qr_code_on_the_staff_page(
    console_client: Client, fake_wechat: FakeWeChat
) -> None:
    await staff_with_password("ada", "admin")
    kim = await staff_with_password("kim", "clerk")
    await sign_in(console_client, "ada")
    listing = await (await console_client.get("/console/staff")).text()
    assert f'href="/console/staff/{kim}/qrcode"' in listing
    token = await page_token(console_client, f"/console/staff/{kim}/qrcode")
    resp = await console_client.post(f"/console/staff/{kim}/qrcode", data={"csrf_token": token})
    page = await resp.text()
    assert resp.status == 200 and "kim" in page
    [made] = fake_wechat.calls("qrcode/create")
    assert made.body["action_info"] == {"scene": {"scene_str": f"staff_{kim}"}}
    wechat_url = f"http://weixin.qq.com/q/staff_{kim}"
    assert image_of(page) == segno.make_qr(wechat_url, error="m").svg_data_uri(scale=8)
    ticket = (await StaffUser.get(id=kim)).qr_ticket
    assert f"showqrcode?ticket={ticket}" in page
    png = await console_client.get(f"/console/staff/{kim}/qrcode.png")
    assert png.headers["Content-Disposition"] == f'attachment; filename="staff_{kim}.png"'
    logged = await AuditLog.get(action="staff.qrcode")
    assert (logged.summary["via"], logged.target) == ("console", f"staff:{kim}")
    assert (await console_client.get("/console/staff/999/qrcode")).status == 404


async def test_a_clerk_opens_no_store_qr_code(
    console_client: Client, fake_wechat: FakeWeChat
) -> None:
    await staff_with_password("ada", "admin")
    await staff_with_password("kim", "clerk")
    await sign_in(console_client, "ada")
    await new_store(console_client, await page_token(console_client, "/console/stores"))
    console_client.session.cookie_jar.clear()
    await sign_in(console_client, "kim")
    listing = await (await console_client.get("/console/stores")).text()
    assert "上海旗舰店" in listing and "/console/stores/SH-01/qrcode" not in listing
    token = await page_token(console_client, "/console/stores")
    path = "/console/stores/SH-01/qrcode"
    assert (await console_client.get(path)).status == 403
    assert (await console_client.get(path + ".png")).status == 403
    assert (await console_client.post(path, data={"csrf_token": token})).status == 403
    assert fake_wechat.count("qrcode/create") == 0


async def test_a_clerk_makes_sees_and_downloads_their_own_qr_code_and_no_one_elses(
    console_client: Client, fake_wechat: FakeWeChat
) -> None:
    ada = await staff_with_password("ada", "admin")
    kim = await staff_with_password("kim", "clerk")
    lee = await staff_with_password("lee", "clerk")
    await sign_in(console_client, "ada")  # lee's code exists: being made is no reason to see it
    token = await page_token(console_client, f"/console/staff/{lee}/qrcode")
    await console_client.post(f"/console/staff/{lee}/qrcode", data={"csrf_token": token})
    console_client.session.cookie_jar.clear()
    await sign_in(console_client, "kim")

    # Their own, a link away on every page; not made yet, so it is offered to be made.
    start = await (await console_client.get("/console/members")).text()
    assert f'href="/console/staff/{kim}/qrcode"' in start
    own = f"/console/staff/{kim}/qrcode"
    page = await console_client.get(own)
    text = await page.text()
    assert page.status == 200 and "生成二维码" in text and 'class="qr-code"' not in text
    assert 'href="/console/staff"' not in text  # the staff list is for admins
    token = await page_token(console_client, own)
    made = await console_client.post(own, data={"csrf_token": token}, allow_redirects=False)
    assert made.status == 303 and made.headers["Location"] == own
    assert fake_wechat.count("qrcode/create") == 2
    assert fake_wechat.calls("qrcode/create")[-1].body["action_info"] == {
        "scene": {"scene_str": f"staff_{kim}"}
    }
    drawn = segno.make_qr(f"http://weixin.qq.com/q/staff_{kim}", error="m").svg_data_uri(scale=8)
    page = await console_client.get(own)
    assert page.status == 200 and image_of(await page.text()) == drawn
    png = await console_client.get(own + ".png")
    assert png.status == 200 and png.content_type == "image/png"
    assert png.headers["Content-Disposition"] == f'attachment; filename="staff_{kim}.png"'
    assert (await png.read()).startswith(PNG)
    svg = await console_client.get(own + ".svg")
    assert svg.status == 200 and "<svg" in await svg.text()
    logged = await AuditLog.filter(action="staff.qrcode", staff_id=kim).get()
    assert (logged.summary["via"], logged.target, logged.status) == ("console", f"staff:{kim}", 200)

    # Anyone else's, made or not, and whoever it is: refused, saying why; WeChat not asked.
    for other in (lee, ada, 999):
        path = f"/console/staff/{other}/qrcode"
        for resp in (
            await console_client.get(path),
            await console_client.get(path + ".png"),
            await console_client.get(path + ".svg"),
            await console_client.post(path, data={"csrf_token": token}),
        ):
            assert resp.status == 403, path
            assert "只能查看自己的二维码" in await resp.text()
    assert fake_wechat.count("qrcode/create") == 2
