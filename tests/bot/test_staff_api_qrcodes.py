"""Store and staff QR codes made through WeChat once; the scenes then name who brought a member."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.ledger import Store
from club.db.models.staff import StaffUser
from config import Settings
from handlers.texts import t
from tests.bot.test_staff_api_support import audit_rows, error_of, staff_headers
from tests.conftest import make_settings
from tests.fakes import FakeWeChat
from tests.handlers.chat import Chat

Client = TestClient[web.Request, web.Application]
STORE = {"id": "SH-01", "name": "上海旗舰店", "channel_level": "key_account"}


@pytest.fixture
def settings(fake_wechat: FakeWeChat) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url)


@pytest.fixture
def chat(client: Client, clock: FixedClock, store: Redis) -> Chat:
    return Chat(client, clock, store)


async def test_store_qr_code_is_made_once_and_kept(client: Client, fake_wechat: FakeWeChat) -> None:
    admin = (await staff_headers())["admin"]
    await client.post("/api/v1/stores", json=STORE, headers=admin)
    first = await client.post("/api/v1/stores/SH-01/qrcode", headers=admin)
    assert first.status == 200, await first.text()
    code = await first.json()
    [call] = fake_wechat.calls("qrcode/create")
    assert call.body == {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "store_SH-01"}},
    }
    assert code["scene"] == "store_SH-01" and code["created"] is True
    image = urlparse(code["image_url"])
    assert (image.scheme, image.netloc, image.path) == (
        "https",
        "mp.weixin.qq.com",
        "/cgi-bin/showqrcode",
    )
    assert parse_qs(image.query)["ticket"] == [code["ticket"]]
    second = await client.post("/api/v1/stores/SH-01/qrcode", headers=admin)
    assert {**(await second.json()), "created": True} == code
    assert fake_wechat.count("qrcode/create") == 1
    assert (await Store.get(id="SH-01")).qr_ticket == code["ticket"]
    listed = await (await client.get("/api/v1/stores/SH-01", headers=admin)).json()
    assert listed["has_qr_code"] is True
    assert [r.summary["created"] for r in await audit_rows("store.qrcode")] == [True, False]


async def test_a_wechat_failure_stores_nothing_and_a_closed_store_gets_no_code(
    client: Client, fake_wechat: FakeWeChat
) -> None:
    headers = await staff_headers()
    admin = headers["admin"]
    await client.post("/api/v1/stores", json=STORE, headers=admin)
    fake_wechat.script("qrcode/create", [48001])
    failed = await client.post("/api/v1/stores/SH-01/qrcode", headers=admin)
    assert "48001" in (await error_of(failed, 502))["message"]
    assert (await Store.get(id="SH-01")).qr_ticket is None
    await error_of(await client.post("/api/v1/stores/SH-01/qrcode", headers=headers["clerk"]), 403)
    await error_of(await client.post("/api/v1/stores/NOPE/qrcode", headers=admin), 404)
    await client.post("/api/v1/stores/SH-01/close", headers=admin)
    closed = await client.post("/api/v1/stores/SH-01/qrcode", headers=admin)
    assert (await error_of(closed, 409))["code"] == "store_closed"
    assert fake_wechat.count("qrcode/create") == 1


async def test_staff_qr_code_and_the_member_it_brings(
    client: Client, fake_wechat: FakeWeChat, chat: Chat
) -> None:
    headers = await staff_headers()
    clerk = await StaffUser.get(name="clerk-1")
    resp = await client.post(f"/api/v1/staff/{clerk.id}/qrcode", headers=headers["admin"])
    code = await resp.json()
    assert code["scene"] == f"staff_{clerk.id}"
    again = await client.post(f"/api/v1/staff/{clerk.id}/qrcode", headers=headers["admin"])
    assert (await again.json())["ticket"] == code["ticket"]
    assert fake_wechat.count("qrcode/create") == 1
    await error_of(await client.post("/api/v1/staff/999/qrcode", headers=headers["admin"]), 404)

    await chat.follow(code["scene"])
    await chat.join()
    export = await chat.say("我的数据")
    assert "来源：" + t("source_staff", "zh", name="clerk-1") in export
    member = await (
        await client.get(
            "/api/v1/members", params={"openid": chat.openid}, headers=headers["clerk"]
        )
    ).json()
    assert (member["source"], member["source_name"]) == (code["scene"], "clerk-1")


async def test_a_clerk_gets_their_own_qr_code_and_no_one_elses(
    client: Client, fake_wechat: FakeWeChat
) -> None:
    headers = await staff_headers()
    clerk = await StaffUser.get(name="clerk-1")
    admin = await StaffUser.get(name="admin-1")
    # The first time makes it: one WeChat call, kept; asking again answers the kept ticket.
    own = await client.post(f"/api/v1/staff/{clerk.id}/qrcode", headers=headers["clerk"])
    assert own.status == 200, await own.text()
    code = await own.json()
    assert (code["scene"], code["created"]) == (f"staff_{clerk.id}", True)
    again = await client.post(f"/api/v1/staff/{clerk.id}/qrcode", headers=headers["clerk"])
    assert {**(await again.json()), "created": True} == code
    assert fake_wechat.count("qrcode/create") == 1
    # Another's, existing or not, made or not: refused before anything is looked up or made.
    await client.post(f"/api/v1/staff/{admin.id}/qrcode", headers=headers["admin"])
    for role, other in (("clerk", admin.id), ("clerk", 999), ("marketer", clerk.id)):
        refused = await client.post(f"/api/v1/staff/{other}/qrcode", headers=headers[role])
        error = await error_of(refused, 403)
        assert error["code"] == "forbidden" and "own QR code" in error["message"], error
    assert fake_wechat.count("qrcode/create") == 2
    rows = await audit_rows("staff.qrcode")
    assert [(r.staff_name, r.target, r.status) for r in rows] == [
        ("clerk-1", f"staff:{clerk.id}", 200),
        ("clerk-1", f"staff:{clerk.id}", 200),
        ("admin-1", f"staff:{admin.id}", 200),
        ("clerk-1", f"staff:{admin.id}", 403),
        ("clerk-1", "staff:999", 403),
        ("marketer-1", f"staff:{clerk.id}", 403),
    ]


async def test_a_store_scene_names_the_store_in_the_data_view_and_the_api(
    client: Client, chat: Chat
) -> None:
    headers = await staff_headers()
    await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    await chat.follow("store_SH-01")
    await chat.join()
    export = await chat.say("我的数据")
    assert "来源：门店 上海旗舰店" in export and "store_SH-01" not in export
    await chat.say("English")
    english = await chat.say("my data")
    assert "Source: store 上海旗舰店" in english
    member = await (
        await client.get(
            "/api/v1/members", params={"openid": chat.openid}, headers=headers["clerk"]
        )
    ).json()
    assert (member["source"], member["source_name"]) == ("store_SH-01", "上海旗舰店")
    # A scene of a store nobody created is shown as it is, not hidden.
    other = chat.as_member("oMember0002")
    await other.follow("store_99")
    assert "来源：store_99" in await other.say("我的数据")
