"""The app builds one WeChat client, one outbox and one sender, on its session and store."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.deps import DEPS
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from club.messaging import announcements
from club.messaging.delivery import DeliveryStatus
from config import Settings
from tests.conftest import make_settings
from tests.fakes import FakeWeChat

OPENID = "oQwErTyUiOp1234567890abcd"


@pytest.fixture
def settings(fake_wechat: FakeWeChat) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


async def test_the_app_outbox_sends_through_the_configured_api(
    client: TestClient[web.Request, web.Application], fake_wechat: FakeWeChat
) -> None:
    deps = client.app[DEPS]
    now = deps.clock.now()
    await Member.create(openid=OPENID, last_message_at=now)
    # Not handed over: on the embedded default the app's own feed would send it at once, and
    # this test sends it itself, through the app's sender.
    told = await deps.outbox.tell(
        announcements.reply("你好", now),
        key="reply:app:1",
        now=now,
        openid=OPENID,
        hand_over=False,
    )
    assert told.outbox_id is not None
    assert await deps.delivery.deliver(told.outbox_id) is DeliveryStatus.SENT
    assert fake_wechat.count("stable_token") == 1
    assert fake_wechat.calls("message/custom/send")[0].body["text"] == {"content": "你好"}
    assert await OutboxMessage.filter(status="sent").count() == 1
    sample = deps.metrics.registry.get_sample_value(
        "clubbot_wechat_api_calls_total", {"endpoint": "message/custom/send", "result": "ok"}
    )
    assert sample == 1
    assert deps.http.closed is False
