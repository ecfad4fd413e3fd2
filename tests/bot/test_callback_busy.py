"""A member whose previous message is still being handled: told so at most once a minute, and
only in the passive reply, never through the customer-service API (which would spend the
allowance of a member who has not written since)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.callback import CONVERSATION
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.clock import FixedClock
from club.db.models.outbox import OutboxMessage
from tests.conftest import APPID, TOKEN, make_settings
from tests.fakes.wechat_api import FakeWeChat
from tests.fixtures.wechat import plain_query, xml
from tests.fixtures.wechat.app import running_app

Client = TestClient[web.Request, web.Application]
BUSY_ZH = "正在处理您上一条消息"


def slow_first(runs: list[str], *, delay: float) -> Router:
    """The member's first message takes `delay` seconds (holding the member's lock)."""
    router = Router("slow")

    @router.fallback()
    async def slow(ctx: Context) -> Reply | None:
        runs.append(ctx.message.dedup_key)
        if len(runs) == 1:
            await asyncio.sleep(delay)
        return TextReply(f"done {ctx.message.dedup_key}")

    return router


async def handling(runs: list[str]) -> None:
    """Until the first message's handler runs (under the member's lock). A fixed 0.1 s was
    not always enough on a loaded machine: the second message then took the lock first."""
    for _ in range(500):
        if runs:
            assert runs == ["msg:1"], runs
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the first message was not handled within 5 s")


def message(msg_id: int, openid: str = "oMember0001") -> str:
    return xml("text.xml", **{"24571001001": str(msg_id), "oMember0001": openid})


async def send(client: Client, clock: FixedClock, body: str) -> tuple[int, str]:
    now = int(clock.now().timestamp())
    resp = await client.post("/wechat", params=plain_query(TOKEN, now), data=body.encode())
    return resp.status, await resp.text()


async def test_busy_is_the_passive_reply_once_a_minute_and_never_an_api_message(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    async with FakeWeChat(appid=APPID) as fake:
        settings = make_settings(
            reply_budget_seconds=0.6, wechat_dry_run=False, wechat_api_base=fake.base_url
        )
        router = slow_first(runs, delay=2.0)
        async with running_app(settings, clock, store, routers=[router]) as client:
            first = asyncio.create_task(send(client, clock, message(1)))
            await handling(runs)  # the first holds the member's lock from now on

            # A second message: its lock wait ends inside the budget, so the notice is the
            # passive reply (the wait used to be 4.5 s against a 4 s budget: always deferred).
            status, text = await send(client, clock, message(2))
            assert status == 200 and BUSY_ZH in text
            # A third within the minute: no second notice.
            assert await send(client, clock, message(3)) == (200, "success")
            # Another member is not affected by this member's notice.
            other = await send(client, clock, message(4, openid="oMember0002"))
            assert other[0] == 200 and "done msg:4" in other[1]

            assert await first == (200, "success")  # slower than the budget: deferred
            await client.app[CONVERSATION].drain()
            ttl = await store.ttl(keys.busy_notice("oMember0001"))
            assert 0 < ttl <= 60

            # Through the customer-service API: only the first message's own late reply.
            sent = [call.body for call in fake.calls("message/custom/send")]
            assert len(sent) == 1 and "done msg:1" in str(sent[0])
            rows = await OutboxMessage.all().values_list("idempotency_key", flat=True)
            assert rows == ["reply:msg:1"]
    assert runs == ["msg:1", "msg:4"]


async def test_after_the_minute_a_busy_member_is_told_again(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    settings = make_settings(reply_budget_seconds=0.6)
    async with running_app(settings, clock, store, routers=[slow_first(runs, delay=2.0)]) as app:
        first = asyncio.create_task(send(app, clock, message(1)))
        await handling(runs)
        assert BUSY_ZH in (await send(app, clock, message(2)))[1]
        await store.delete(keys.busy_notice("oMember0001"))  # the minute is over
        assert BUSY_ZH in (await send(app, clock, message(3)))[1]
        await first
        await app.app[CONVERSATION].drain()
