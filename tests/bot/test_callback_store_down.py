"""With the shared store unreachable the callback answers 503 (WeChat retries the message) and
handles nothing; once the store is back, the retry is handled."""

from __future__ import annotations

import socket

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot import keys
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


async def test_a_store_failure_inside_a_handler_gets_503_and_the_retry_is_handled(
    clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """The store answered the claim but failed the handler (it went away in between): 503,
    the claim given back, and WeChat's retry handled, not an apology cached for it."""
    runs: list[int] = []
    router = Router("flaky")

    @router.fallback()
    async def flaky(ctx: Context) -> Reply | None:
        runs.append(1)
        if len(runs) == 1:
            raise RedisConnectionError("Connection reset by peer")
        return TextReply("handled")

    async with running_app(make_settings(), clock, store, routers=[router]) as client:
        now = int(clock.now().timestamp())
        body = xml("text.xml").encode()
        first = await client.post("/wechat", params=plain_query(TOKEN, now), data=body)
        assert (first.status, await first.text()) == (503, "store unavailable")
        assert [k async for k in store.scan_iter(match=f"{keys.prefix()}:dedup:*")] == []
        retry = await client.post("/wechat", params=plain_query(TOKEN, now), data=body)
        assert retry.status == 200 and "handled" in await retry.text()
    assert runs == [1, 1]
    assert not any(r.exc_info for r in caplog.records)
