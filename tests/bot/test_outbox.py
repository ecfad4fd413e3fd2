"""The outbox: idempotent enqueue, one send per row even under concurrency, outcomes recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from bot.kv import Redis
from bot.metrics import Metrics
from bot.outbox import (
    Article,
    DeliveryStatus,
    NewsMessage,
    Outbox,
    TemplateMessage,
    TextMessage,
)
from bot.wechat.api import RetryPolicy, WeChatAPI
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from tests.conftest import make_settings
from tests.fakes import FakeWeChat

OPENID = "oQwErTyUiOp1234567890abcd"
SEND = "message/custom/send"
TEMPLATE = "message/template/send"
NO_RETRY = RetryPolicy(retries=0)


class Box:
    """An outbox wired to the fake WeChat, with handles the tests need."""

    def __init__(self, outbox: Outbox, fake: FakeWeChat, clock: FixedClock) -> None:
        self.outbox = outbox
        self.fake = fake
        self.clock = clock


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_outbox(
    fake: FakeWeChat,
    http: aiohttp.ClientSession,
    store: Redis,
    clock: FixedClock,
    *,
    dry_run: bool = False,
    max_attempts: int = 3,
) -> Outbox:
    settings = make_settings(wechat_api_base=fake.base_url, wechat_dry_run=dry_run)
    api = WeChatAPI(http=http, store=store, settings=settings, metrics=Metrics(), retry=NO_RETRY)
    return Outbox(api=api, settings=settings, clock=clock, max_attempts=max_attempts)


@pytest.fixture
def outbox(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> Outbox:
    return make_outbox(fake, http, store, clock)


async def test_enqueue_is_idempotent_on_the_key(outbox: Outbox, fake: FakeWeChat) -> None:
    first = await outbox.enqueue(
        openid=OPENID, kind="greeting", key="birthday:1:2026", payload=TextMessage("生日快乐")
    )
    again = await outbox.enqueue(
        openid=OPENID, kind="greeting", key="birthday:1:2026", payload=TextMessage("different")
    )
    assert again.id == first.id
    assert again.payload == {"msgtype": "text", "text": "生日快乐"}
    assert await OutboxMessage.all().count() == 1
    assert await outbox.deliver(first.id) is DeliveryStatus.SENT
    assert await outbox.deliver(again.id) is DeliveryStatus.DUPLICATE
    assert fake.count(SEND) == 1


async def test_send_now_twice_with_one_key_sends_once(outbox: Outbox, fake: FakeWeChat) -> None:
    statuses = [
        await outbox.send_now(openid=OPENID, kind="reply", key="reply:m1", payload=TextMessage("a"))
        for _ in range(2)
    ]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.DUPLICATE]
    assert fake.count(SEND) == 1
    assert fake.calls(SEND)[0].body == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "a"},
    }


async def test_concurrent_enqueues_of_one_key_make_one_row(outbox: Outbox) -> None:
    rows = await asyncio.gather(
        *(
            outbox.enqueue(openid=OPENID, kind="greeting", key="k-race", payload=TextMessage("x"))
            for _ in range(10)
        )
    )
    assert len({r.id for r in rows}) == 1
    assert await OutboxMessage.all().count() == 1


async def test_two_concurrent_deliveries_of_one_row_make_one_call(
    outbox: Outbox, fake: FakeWeChat
) -> None:
    fake.slow(SEND, 0.2)  # the first is still talking to WeChat when the second arrives
    row = await outbox.enqueue(openid=OPENID, kind="notice", key="n1", payload=TextMessage("x"))
    statuses = await asyncio.gather(outbox.deliver(row.id), outbox.deliver(row.id))
    assert sorted(statuses) == sorted([DeliveryStatus.SENT, DeliveryStatus.DUPLICATE])
    assert fake.count(SEND) == 1
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1


async def test_a_sent_row_records_what_happened(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock
) -> None:
    row = await outbox.enqueue(
        openid=OPENID,
        kind="festival",
        key="festival:中秋:2026:1",
        payload=TemplateMessage(
            "TPL-FEST", {"first": "中秋快乐", "remark": "月圆人团圆"}, "https://x"
        ),
        member_id=7,
    )
    assert row.channel is OutboxChannel.TEMPLATE
    assert await outbox.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(SEND) == 0
    (call,) = fake.calls(TEMPLATE)
    assert call.body["template_id"] == "TPL-FEST"
    assert call.body["data"] == {"first": {"value": "中秋快乐"}, "remark": {"value": "月圆人团圆"}}
    assert call.body["url"] == "https://x"
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SENT
    assert row.wechat_msgid is not None and row.wechat_msgid.isdigit()
    assert row.sent_at == clock.now()
    assert row.attempts == 1
    assert row.dry_run is False


async def test_news_goes_by_customer_service(outbox: Outbox, fake: FakeWeChat) -> None:
    article = Article("新品", "限量", "https://example.com/a", "https://example.com/p.jpg")
    status = await outbox.send_now(
        openid=OPENID, kind="notice", key="news1", payload=NewsMessage((article,))
    )
    assert status is DeliveryStatus.SENT
    (call,) = fake.calls(SEND)
    assert call.body["msgtype"] == "news"
    assert call.body["news"]["articles"][0]["title"] == "新品"


async def test_dry_run_records_and_calls_nothing(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> None:
    outbox = make_outbox(fake, http, store, clock, dry_run=True)
    status = await outbox.send_now(openid=OPENID, kind="reply", key="d1", payload=TextMessage("x"))
    assert status is DeliveryStatus.DRY_RUN
    assert fake.calls() == []
    row = await OutboxMessage.get(idempotency_key="d1")
    assert row.status is OutboxStatus.SENT
    assert row.dry_run is True
    assert row.sent_at == clock.now()


async def test_a_row_not_yet_due_waits(outbox: Outbox, fake: FakeWeChat, clock: FixedClock) -> None:
    due = clock.now() + timedelta(hours=1)
    row = await outbox.enqueue(
        openid=OPENID, kind="greeting", key="q1", payload=TextMessage("x"), not_before=due
    )
    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER
    assert fake.count(SEND) == 0
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    clock.set(due)
    assert await outbox.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(SEND) == 1


@pytest.mark.parametrize("code", [45015, 45047])
async def test_outside_the_window_is_reported_for_a_template_fallback(
    outbox: Outbox, fake: FakeWeChat, code: int
) -> None:
    fake.script(SEND, [code])
    row = await outbox.enqueue(openid=OPENID, kind="greeting", key="w1", payload=TextMessage("x"))
    assert await outbox.deliver(row.id) is DeliveryStatus.OUTSIDE_WINDOW
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SKIPPED
    assert row.last_error is not None and row.last_error.startswith(str(code))
    assert await outbox.deliver(row.id) is DeliveryStatus.DUPLICATE
    assert fake.count(SEND) == 1


@pytest.mark.parametrize("by_member_id", [True, False])
async def test_an_unreachable_member_is_marked(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock, by_member_id: bool
) -> None:
    member = await Member.create(openid=OPENID)
    other = await Member.create(openid="oSomebodyElse0000000000000")
    fake.script(SEND, [43004])
    row = await outbox.enqueue(
        openid=OPENID,
        kind="greeting",
        key="u1",
        payload=TextMessage("x"),
        member_id=member.id if by_member_id else None,
    )
    assert await outbox.deliver(row.id) is DeliveryStatus.UNREACHABLE
    await member.refresh_from_db()
    await other.refresh_from_db()
    assert member.unreachable_at == clock.now()
    assert member.unreachable_reason is not None and "43004" in member.unreachable_reason
    assert other.unreachable_at is None
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SKIPPED


async def test_a_retried_template_carries_the_same_client_msg_id(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock
) -> None:
    # WeChat sends one template message per openid and client_msg_id within 10 minutes: a retry
    # after an answer that got lost (here: "system busy") cannot reach the member twice.
    fake.script(TEMPLATE, [-1])
    row = await outbox.enqueue(
        openid=OPENID, kind="greeting", key="cm1", payload=TemplateMessage("T", {"a": "b"})
    )
    other = await outbox.enqueue(
        openid=OPENID, kind="greeting", key="cm2", payload=TemplateMessage("T", {"a": "c"})
    )
    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER
    clock.advance(timedelta(minutes=5))
    assert await outbox.deliver(row.id) is DeliveryStatus.SENT
    assert await outbox.deliver(other.id) is DeliveryStatus.SENT
    first, retry, second = (call.body["client_msg_id"] for call in fake.calls(TEMPLATE))
    assert first == retry == f"clubbot-outbox-{row.id}"
    assert second == f"clubbot-outbox-{other.id}"


async def test_quota_is_not_retried_until_tomorrow(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock
) -> None:
    fake.script(TEMPLATE, [45009])
    row = await outbox.enqueue(
        openid=OPENID, kind="greeting", key="qt", payload=TemplateMessage("T", {"a": "b"})
    )
    assert await outbox.deliver(row.id) is DeliveryStatus.QUOTA
    assert fake.count(TEMPLATE) == 1
    await row.refresh_from_db()
    assert row.status is OutboxStatus.FAILED
    assert row.not_before == datetime(2026, 11, 24, tzinfo=clock.now().tzinfo)
    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER
    assert fake.count(TEMPLATE) == 1


async def test_transient_errors_requeue_with_back_off_then_fail_after_max_attempts(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock
) -> None:
    fake.script(SEND, [45011, -1, 45011])
    row = await outbox.enqueue(openid=OPENID, kind="notice", key="t1", payload=TextMessage("x"))
    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 1)
    assert row.not_before == clock.now() + timedelta(seconds=30)
    assert row.last_error is not None and row.last_error.startswith("45011")

    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER  # not due yet
    assert fake.count(SEND) == 1
    clock.advance(timedelta(seconds=30))
    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER
    await row.refresh_from_db()
    assert row.not_before == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(minutes=1))
    assert await outbox.deliver(row.id) is DeliveryStatus.FAILED  # third and last attempt
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    clock.advance(timedelta(hours=2))
    assert await outbox.deliver(row.id) is DeliveryStatus.FAILED
    assert fake.count(SEND) == 3


async def test_a_failure_then_success_on_a_later_delivery(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock
) -> None:
    fake.script(SEND, [45011])
    row = await outbox.enqueue(openid=OPENID, kind="notice", key="t2", payload=TextMessage("x"))
    assert await outbox.deliver(row.id) is DeliveryStatus.RETRY_LATER
    clock.advance(timedelta(minutes=1))
    assert await outbox.deliver(row.id) is DeliveryStatus.SENT
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 2, clock.now())


async def test_a_permanent_error_fails_the_row(outbox: Outbox, fake: FakeWeChat) -> None:
    fake.script(SEND, [40003])
    status = await outbox.send_now(openid=OPENID, kind="notice", key="p1", payload=TextMessage("x"))
    assert status is DeliveryStatus.FAILED
    row = await OutboxMessage.get(idempotency_key="p1")
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("40003")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"openid": "", "key": "b1", "payload": TextMessage("x")},
        {"openid": OPENID, "key": "", "payload": TextMessage("x")},
        {"openid": OPENID, "key": "k" * 129, "payload": TextMessage("x")},
        {"openid": OPENID, "key": "b2", "payload": TextMessage("")},
        {"openid": OPENID, "key": "b3", "payload": NewsMessage(())},
        {"openid": OPENID, "key": "b4", "payload": TemplateMessage("", {})},
        {
            "openid": OPENID,
            "key": "b5",
            "payload": TextMessage("x"),
            "not_before": datetime(2026, 11, 23, 22, 0),  # naive: refused
        },
    ],
)
async def test_bad_input_is_refused_and_nothing_written(
    outbox: Outbox, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        await outbox.enqueue(kind="notice", **kwargs)  # type: ignore[arg-type]
    assert await OutboxMessage.all().count() == 0


async def test_delivering_an_unknown_row_is_an_error(outbox: Outbox) -> None:
    with pytest.raises(LookupError):
        await outbox.deliver(987654)


async def test_a_row_with_an_unreadable_payload_fails_without_a_call(
    outbox: Outbox, fake: FakeWeChat
) -> None:
    row = await OutboxMessage.create(
        idempotency_key="bad-payload", openid=OPENID, kind="notice", payload={"msgtype": "voice"}
    )
    assert await outbox.deliver(row.id) is DeliveryStatus.FAILED
    assert fake.calls() == []
    await row.refresh_from_db()
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("bad payload")


async def test_an_unreachable_token_store_requeues_without_a_call(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, clock: FixedClock
) -> None:
    import redis.asyncio as aioredis

    down: Redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        outbox = make_outbox(fake, http, down, clock)
        status = await outbox.send_now(
            openid=OPENID, kind="notice", key="store-down", payload=TextMessage("x")
        )
    finally:
        await down.aclose()
    assert status is DeliveryStatus.RETRY_LATER
    assert fake.calls() == []
    row = await OutboxMessage.get(idempotency_key="store-down")
    assert row.status is OutboxStatus.QUEUED
    assert row.last_error is not None and "store unavailable" in row.last_error
