"""WeChat's retries and the 5-second budget."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.callback import CONVERSATION
from bot.deps import DEPS
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.clock import FixedClock
from club.db.models.outbox import OutboxMessage, OutboxStatus
from tests.conftest import AES_KEY, APPID, TOKEN, make_settings
from tests.fakes.wechat_api import FakeWeChat
from tests.fixtures.wechat import aes_query, decrypt, encrypt, envelope, plain_query, xml
from tests.fixtures.wechat.app import running_app

Client = TestClient[web.Request, web.Application]


def slow_router(runs: list[str], *, first_delay: float, reply: str = "慢慢来") -> Router:
    router = Router("slow")

    @router.fallback()
    @router.event("subscribe")
    async def slow(ctx: Context) -> Reply | None:
        runs.append(ctx.message.dedup_key)
        if len(runs) == 1:
            await asyncio.sleep(first_delay)
        return TextReply(f"{reply} #{len(runs)}")

    return router


async def send(client: Client, clock: FixedClock, body: str) -> tuple[int, str]:
    now = int(clock.now().timestamp())
    resp = await client.post("/wechat", params=plain_query(TOKEN, now), data=body.encode())
    return resp.status, await resp.text()


def duplicates(client: Client) -> float:
    return float(client.app[DEPS].metrics.duplicates._value.get())


async def drain(client: Client) -> None:
    await client.app[CONVERSATION].drain()


async def test_three_concurrent_tries_first_slow_one_run_three_identical_replies(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    async with running_app(
        make_settings(), clock, store, routers=[slow_router(runs, first_delay=0.6)]
    ) as client:
        body = xml("text.xml")
        first = asyncio.create_task(send(client, clock, body))
        await asyncio.sleep(0.1)  # the retries arrive while the first is still running
        retries = [asyncio.create_task(send(client, clock, body)) for _ in range(2)]
        answers = await asyncio.gather(first, *retries)
        assert runs == ["msg:24571001001"]
        assert len({a for a in answers}) == 1
        status, text = answers[0]
        assert status == 200 and "<Content><![CDATA[慢慢来 #1]]></Content>" in text
        assert duplicates(client) == 2

        # A retry after the first finished: the same reply, from the cache.
        assert await send(client, clock, body) == answers[0]
        assert runs == ["msg:24571001001"]
        # Another message is a new run.
        status, text = await send(client, clock, xml("text.xml", **{"24571001001": "24571001009"}))
        assert "#2" in text


async def test_retried_encrypted_message_gets_the_same_reply_encrypted_again(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    settings = make_settings(wechat_aes_key=AES_KEY)
    async with running_app(
        settings, clock, store, routers=[slow_router(runs, first_delay=0)]
    ) as client:
        now = int(clock.now().timestamp())
        encrypted = encrypt(AES_KEY, APPID, xml("text.xml"))
        replies = []
        for _ in range(2):
            resp = await client.post(
                "/wechat", params=aes_query(TOKEN, now, encrypted), data=envelope("gh", encrypted)
            )
            text = await resp.text()
            inner = text.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
            replies.append(decrypt(AES_KEY, inner)[0])
        assert replies[0] == replies[1]
        assert runs == ["msg:24571001001"]


async def test_events_are_deduplicated_by_member_time_and_event(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    async with running_app(
        make_settings(), clock, store, routers=[slow_router(runs, first_delay=0)]
    ) as client:
        event = xml("subscribe.xml")
        a = await send(client, clock, event)
        b = await send(client, clock, event)
        assert a == b
        assert runs == ["evt:oMember0001:1795399200:subscribe"]
        later = xml("subscribe.xml", **{"1795399200": "1795399201"})
        await send(client, clock, later)
        other = xml("subscribe.xml", **{"oMember0001": "oMember0002"})
        await send(client, clock, other)
        assert len(runs) == 3


async def test_a_handler_slower_than_the_budget_answers_success_and_replies_by_the_outbox(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    settings = make_settings(reply_budget_seconds=0.5)
    async with running_app(
        settings, clock, store, routers=[slow_router(runs, first_delay=1.5)]
    ) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        status, text = await send(client, clock, xml("text.xml"))
        elapsed = loop.time() - started
        assert (status, text) == (200, "success")
        assert elapsed < 1.4  # well inside WeChat's 5 s: we did not wait for the handler
        assert client.app[DEPS].metrics.deferred._value.get() == 1

        # A retry while the handler still runs: `success`, and no second run.
        assert await send(client, clock, xml("text.xml")) == (200, "success")
        assert await OutboxMessage.all().count() == 0

        await drain(client)
        row = await OutboxMessage.get(openid="oMember0001")
        assert row.kind == "reply"
        assert row.idempotency_key == "reply:msg:24571001001"
        assert row.payload["msgtype"] == "text" and row.payload["text"] == "慢慢来 #1"
        # Should the window be refused, the programme's reply template goes instead.
        assert row.payload["fallback"]["data"]["thing1"] == "慢慢来 #1"
        assert (row.status, row.dry_run) == (OutboxStatus.SENT, True)
        assert row.member_id is not None
        # A late retry after delivery: still `success`, still one run, still one row.
        assert await send(client, clock, xml("text.xml")) == (200, "success")
        assert runs == ["msg:24571001001"]
        assert await OutboxMessage.all().count() == 1


async def test_a_deferred_reply_goes_out_by_the_customer_service_api(
    clock: FixedClock, store: Redis
) -> None:
    runs: list[str] = []
    async with FakeWeChat(appid=APPID) as fake:
        settings = make_settings(
            reply_budget_seconds=0.3, wechat_dry_run=False, wechat_api_base=fake.base_url
        )
        async with running_app(
            settings, clock, store, routers=[slow_router(runs, first_delay=0.8)]
        ) as client:
            assert await send(client, clock, xml("text.xml")) == (200, "success")
            await drain(client)
            (call,) = fake.calls("message/custom/send")
            body = call.body if isinstance(call.body, dict) else json.loads(call.body)
            assert body["touser"] == "oMember0001"
            assert body["msgtype"] == "text"
            assert body["text"]["content"] == "慢慢来 #1"
            row = await OutboxMessage.get(openid="oMember0001")
            assert (row.status, row.dry_run) == (OutboxStatus.SENT, False)
            metrics = await (await client.get("/metrics")).text()
            assert 'clubbot_outbox_deliveries_total{outcome="sent"} 1' in metrics


@pytest.mark.parametrize("code", [45015, 45047])
async def test_a_deferred_reply_refused_by_the_window_goes_as_the_reply_template(
    clock: FixedClock, store: Redis, code: int
) -> None:
    # The member is waiting for an answer: when WeChat refuses the customer-service message
    # (the window, or its allowance, closed meanwhile), the programme's reply template carries
    # the answer instead of leaving the member unanswered.
    runs: list[str] = []
    async with FakeWeChat(appid=APPID) as fake:
        fake.script("message/custom/send", [code])
        settings = make_settings(
            reply_budget_seconds=0.3, wechat_dry_run=False, wechat_api_base=fake.base_url
        )
        async with running_app(
            settings, clock, store, routers=[slow_router(runs, first_delay=0.8)]
        ) as client:
            assert await send(client, clock, xml("text.xml")) == (200, "success")
            await drain(client)
            assert fake.count("message/custom/send") == 1
            (call,) = fake.calls("message/template/send")
            assert call.body["touser"] == "oMember0001"
            assert call.body["template_id"] == "demo-tmpl-service-reply"
            assert call.body["data"]["thing1"] == {"value": "慢慢来 #1"}
            reply = await OutboxMessage.get(idempotency_key="reply:msg:24571001001")
            assert (reply.status, reply.outcome) == (OutboxStatus.SKIPPED, "outside_window")
            copy = await OutboxMessage.get(idempotency_key="reply:msg:24571001001:template")
            assert copy.status is OutboxStatus.SENT
            metrics = await (await client.get("/metrics")).text()
            assert 'clubbot_outbox_deliveries_total{outcome="outside_window"} 1' in metrics
            assert 'clubbot_outbox_deliveries_total{outcome="template_sent"} 1' in metrics


async def test_a_failing_handler_answers_an_apology_once(clock: FixedClock, store: Redis) -> None:
    runs: list[int] = []
    router = Router("broken")

    @router.fallback()
    async def broken(ctx: Context) -> Reply | None:
        runs.append(1)
        raise RuntimeError("boom")

    async with running_app(make_settings(), clock, store, routers=[router]) as client:
        first = await send(client, clock, xml("text.xml"))
        assert first[0] == 200 and "系统开小差" in first[1]
        assert await send(client, clock, xml("text.xml")) == first
        assert runs == [1]
