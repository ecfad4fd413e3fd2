"""With the shared store unreachable the callback answers 503 (WeChat retries the message) and
handles nothing; once the store is back, the retry is handled."""

from __future__ import annotations

import socket

import pytest
import redis.asyncio as aioredis

from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.clock import FixedClock
from club.db.models.members import Member
from tests.conftest import TOKEN, make_settings
from tests.fixtures.wechat import plain_query, xml
from tests.fixtures.wechat.app import running_app


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_store_gets_503_and_nothing_is_handled(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []
    router = Router("spy")

    @router.fallback()
    async def spy(ctx: Context) -> Reply | None:
        handled.append(ctx.message.openid)
        return TextReply("handled")

    down: Redis = aioredis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_timeout=1)
    try:
        async with running_app(make_settings(), clock, down, routers=[router]) as client:
            now = int(clock.now().timestamp())
            resp = await client.post(
                "/wechat", params=plain_query(TOKEN, now), data=xml("text.xml").encode()
            )
            assert resp.status == 503
            assert await resp.text() == "store unavailable"
            assert handled == []
            assert await Member.all().count() == 0
    finally:
        await down.aclose()
    assert "the store is unavailable" in caplog.text
