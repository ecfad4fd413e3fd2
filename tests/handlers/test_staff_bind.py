"""A staff member binds their own WeChat with a one-time code sent in chat, and a campaign test
then reaches that WeChat (by customer service: the binding message opened the window)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from club.db.models.outbox import OutboxMessage
from club.db.models.staff_wechat import StaffWeChat
from config import Settings
from handlers.texts import t
from tests.bot.test_staff_api_support import error_of, staff_headers
from tests.club.campaign_support import deps_of, everyone_segment, member
from tests.conftest import make_settings
from tests.fakes import FakeWeChat
from tests.handlers.chat import Chat


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


async def test_a_bound_staff_member_gets_the_campaign_test(
    chat: Chat, fake_wechat: FakeWeChat
) -> None:
    headers = (await staff_headers())["marketer"]
    now = chat.clock.now()
    await member("o-someone", now)
    segment = await everyone_segment(now)
    body = {"name": "测试活动", "segment_id": segment.id, "message": {"text": "周末品鉴会"}}
    resp = await chat.client.post("/api/v1/campaigns", json=body, headers=headers)
    cid = (await resp.json())["id"]
    resp = await chat.client.post(f"/api/v1/campaigns/{cid}/test", headers=headers)
    assert "bind your WeChat" in (await error_of(resp, 409))["message"]

    resp = await chat.client.post("/api/v1/me/wechat-code", headers=headers)
    code = (await resp.json())["code"]
    staff = chat.as_member("o-staff-phone")
    assert await staff.say("绑定 ABCDEF") == t("staff_bind_failed", "zh")
    assert await staff.say(f"绑定 {code.lower()}") == t("staff_bound", "zh", name="marketer-1")
    # A code works once (answered in Chinese: the language this WeChat user wrote first).
    assert await staff.say(f"bind {code}") == t("staff_bind_failed", "zh")
    assert (await StaffWeChat.get()).openid == "o-staff-phone"

    resp = await chat.client.post(f"/api/v1/campaigns/{cid}/test", headers=headers)
    answer = await resp.json()
    assert answer["channel"] == "custom" and answer["sent_to"].startswith("o-st")
    deps = deps_of(chat.client)
    await deps.drain()  # handed to this process's sender (embedded), or
    await deps.delivery.send_due()  # what the queue workers would do
    [sent] = fake_wechat.calls("message/custom/send")
    assert sent.body == {
        "touser": "o-staff-phone",
        "msgtype": "text",
        "text": {"content": "周末品鉴会"},
    }
    row = await OutboxMessage.get(id=answer["outbox_id"])
    assert row.kind == "notice"  # a test is not marketing: it counts against no cap
    # The campaign itself is untouched.
    resp = await chat.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
    assert (await resp.json())["status"] == "draft"


async def test_an_expired_code_binds_nothing(chat: Chat) -> None:
    headers = (await staff_headers())["admin"]
    resp = await chat.client.post("/api/v1/me/wechat-code", headers=headers)
    code = (await resp.json())["code"]
    chat.clock.advance(timedelta(minutes=11))
    assert await chat.say(f"绑定 {code}") == t("staff_bind_failed", "zh")
    assert not await StaffWeChat.exists()
