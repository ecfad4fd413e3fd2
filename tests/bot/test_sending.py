"""The sending side: one send per row even under concurrency, each failure turned into its
outcome by the one rule (`club.messaging.outcomes`), against the fake WeChat API."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiohttp
import pytest

from bot.kv import Redis
from bot.metrics import Metrics
from bot.wechat.api import RetryPolicy, WeChatAPI
from bot.wechat.sender import DryRunSender, WeChatSender
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.messaging.delivery import Delivery, DeliveryStatus
from club.messaging.message import Content, Envelope, Image, LinkCard, Template, Text, encode
from club.messaging.plan import DeliveryRules
from tests.conftest import make_settings
from tests.fakes import GIVE_UP_S, TOO_LATE, FakeWeChat

OPENID = "oQwErTyUiOp1234567890abcd"
SEND = "message/custom/send"
TEMPLATE = "message/template/send"
NO_RETRY = RetryPolicy(retries=0)


async def no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


def make_api(
    base: str,
    http: aiohttp.ClientSession,
    store: Redis,
    *,
    retry: RetryPolicy = NO_RETRY,
    timeout: aiohttp.ClientTimeout | None = None,
    metrics: Metrics | None = None,
    sleep: Callable[[float], Awaitable[None]] = no_wait,
    **settings: object,
) -> WeChatAPI:
    """The tests' client of the settings' account at `base` (`settings`: overrides)."""
    made = make_settings(wechat_api_base=base, wechat_dry_run=False, **settings)
    return WeChatAPI(
        http=http,
        store=store,
        settings=made,
        credentials=made.credentials,
        metrics=metrics or Metrics(),
        retry=retry,
        sleep=sleep,
        timeout=timeout,
    )


def delivery_via(api: WeChatAPI, clock: FixedClock, *, max_attempts: int = 3) -> Delivery:
    return Delivery(WeChatSender(api), DeliveryRules(), clock, max_attempts=max_attempts)


@pytest.fixture
def delivery(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> Delivery:
    return delivery_via(make_api(fake.base_url, http, store), clock)


async def queue(
    content: Content,
    *,
    key: str,
    kind: str = "notice",
    fallback: Template | None = None,
    member_id: int | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """A row as the outbox writes one (the writer itself is tested in tests/club)."""
    channel = OutboxChannel.TEMPLATE if isinstance(content, Template) else OutboxChannel.CUSTOM
    return await OutboxMessage.create(
        idempotency_key=key,
        openid=OPENID,
        member_id=member_id,
        kind=kind,
        channel=channel,
        payload=encode(Envelope(content, fallback)),
        not_before=not_before,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_two_concurrent_deliveries_of_one_row_make_one_call(
    delivery: Delivery, fake: FakeWeChat
) -> None:
    fake.slow(SEND, 0.2)  # the first is still talking to WeChat when the second arrives
    row = await queue(Text("x"), key="n1")
    statuses = await asyncio.gather(delivery.deliver(row.id), delivery.deliver(row.id))
    assert sorted(statuses) == sorted([DeliveryStatus.SENT, DeliveryStatus.DUPLICATE])
    assert fake.count(SEND) == 1
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.outcome) == (OutboxStatus.SENT, 1, "sent")


async def test_a_sent_template_records_what_happened(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    content = Template("TPL-FEST", {"first": "中秋快乐", "remark": "月圆人团圆"}, "https://x")
    row = await queue(content, key="festival:中秋:2026:1", kind="festival", member_id=7)
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(SEND) == 0
    (call,) = fake.calls(TEMPLATE)
    assert call.body["template_id"] == "TPL-FEST"
    assert call.body["data"] == {"first": {"value": "中秋快乐"}, "remark": {"value": "月圆人团圆"}}
    assert call.body["url"] == "https://x"
    assert call.body["client_msg_id"] == f"clubbot-outbox-{row.id}"
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SENT
    assert row.wechat_msgid is not None and row.wechat_msgid.isdigit()
    assert row.sent_at == row.first_attempt_at == clock.now()
    assert (row.attempts, row.dry_run) == (1, False)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            LinkCard("新品", "https://example.com/a", "限量", "https://example.com/p.jpg"),
            {
                "msgtype": "news",
                "news": {
                    "articles": [
                        {
                            "title": "新品",
                            "description": "限量",
                            "url": "https://example.com/a",
                            "picurl": "https://example.com/p.jpg",
                        }
                    ]
                },
            },
        ),
        (Image("MEDIA-1"), {"msgtype": "image", "image": {"media_id": "MEDIA-1"}}),
        (Text("你好"), {"msgtype": "text", "text": {"content": "你好"}}),
    ],
)
async def test_customer_service_content_as_wechat_takes_it(
    delivery: Delivery, fake: FakeWeChat, content: Content, expected: dict[str, object]
) -> None:
    row = await queue(content, key="cs1")
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    (call,) = fake.calls(SEND)
    assert call.body == {"touser": OPENID, **expected}


async def test_dry_run_records_and_calls_nothing(
    db: None, fake: FakeWeChat, clock: FixedClock
) -> None:
    delivery = Delivery(DryRunSender(), DeliveryRules(), clock)
    row = await queue(Text("x"), key="d1")
    assert await delivery.deliver(row.id) is DeliveryStatus.DRY_RUN
    assert fake.calls() == []
    await row.refresh_from_db()
    assert (row.status, row.dry_run, row.sent_at, row.outcome) == (
        OutboxStatus.SENT,
        True,
        clock.now(),
        "dry_run",
    )


async def test_a_row_not_yet_due_waits(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    due = clock.now() + timedelta(hours=1)
    row = await queue(Text("x"), key="q1", not_before=due)
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    assert fake.count(SEND) == 0
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    clock.set(due)
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(SEND) == 1


@pytest.mark.parametrize("code", [45015, 45047])
async def test_outside_the_window_sends_the_rows_template_instead(
    delivery: Delivery, fake: FakeWeChat, code: int
) -> None:
    fake.script(SEND, [code])
    fallback = Template("TPL-NOTICE", {"thing1": "积分变动"})
    row = await queue(Text("x"), key="w1", fallback=fallback)
    counts: Counter[str] = Counter()
    await delivery.deliver_with_fallback(row.id, counts)
    assert counts == {"outside_window": 1, "template_sent": 1}
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SKIPPED
    assert row.last_error is not None and row.last_error.startswith(str(code))
    (call,) = fake.calls(TEMPLATE)
    assert call.body["template_id"] == "TPL-NOTICE"
    copy = await OutboxMessage.get(idempotency_key="w1:template")
    assert (copy.status, copy.channel) == (OutboxStatus.SENT, OutboxChannel.TEMPLATE)
    assert await delivery.deliver(row.id) is DeliveryStatus.DUPLICATE
    assert fake.count(SEND) == 1


@pytest.mark.parametrize("by_member_id", [True, False])
async def test_an_unreachable_member_is_marked(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, by_member_id: bool
) -> None:
    # The member wrote a minute ago (our own rules let the message go), then unfollowed.
    member = await Member.create(openid=OPENID, last_message_at=clock.now() - timedelta(minutes=1))
    other = await Member.create(openid="oSomebodyElse0000000000000")
    fake.script(SEND, [43004])
    row = await queue(Text("x"), key="u1", member_id=member.id if by_member_id else None)
    assert await delivery.deliver(row.id) is DeliveryStatus.UNREACHABLE
    await member.refresh_from_db()
    await other.refresh_from_db()
    assert member.unreachable_at == clock.now()
    assert member.unreachable_reason is not None and "43004" in member.unreachable_reason
    assert other.unreachable_at is None
    await row.refresh_from_db()
    assert row.status is OutboxStatus.SKIPPED


async def test_a_retried_template_carries_the_same_client_msg_id(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    # WeChat sends one template message per openid and client_msg_id within 10 minutes: a retry
    # after an answer that got lost (here: "system busy") cannot reach the member twice.
    fake.script(TEMPLATE, [-1])
    row = await queue(Template("T", {"a": "b"}), key="cm1")
    other = await queue(Template("T", {"a": "c"}), key="cm2")
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    clock.advance(timedelta(minutes=5))
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    assert await delivery.deliver(other.id) is DeliveryStatus.SENT
    first, retry, second = (call.body["client_msg_id"] for call in fake.calls(TEMPLATE))
    assert first == retry == f"clubbot-outbox-{row.id}"
    assert second == f"clubbot-outbox-{other.id}"


async def test_quota_is_not_retried_until_tomorrow(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    fake.script(TEMPLATE, [45009])
    row = await queue(Template("T", {"a": "b"}), key="qt")
    assert await delivery.deliver(row.id) is DeliveryStatus.QUOTA
    assert fake.count(TEMPLATE) == 1
    await row.refresh_from_db()
    assert (row.status, row.outcome) == (OutboxStatus.FAILED, "quota")
    assert row.not_before == datetime(2026, 11, 24, tzinfo=clock.now().tzinfo)
    assert await delivery.deliver(row.id) is DeliveryStatus.DUPLICATE  # waits for midnight
    assert fake.count(TEMPLATE) == 1
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=clock.now().tzinfo))
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(TEMPLATE) == 2


async def test_busy_answers_requeue_with_back_off_then_fail_after_max_attempts(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    fake.script(SEND, [45011, -1, 45011])
    row = await queue(Text("x"), key="t1")
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.outcome) == (OutboxStatus.QUEUED, 1, "retry")
    assert row.not_before == clock.now() + timedelta(seconds=30)
    assert row.last_error is not None and row.last_error.startswith("45011")

    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER  # not due yet
    assert fake.count(SEND) == 1
    clock.advance(timedelta(seconds=30))
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    await row.refresh_from_db()
    assert row.not_before == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(minutes=1))
    assert await delivery.deliver(row.id) is DeliveryStatus.FAILED  # third and last attempt
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    clock.advance(timedelta(hours=2))
    assert await delivery.deliver(row.id) is DeliveryStatus.DUPLICATE
    assert fake.count(SEND) == 3


async def test_a_failure_then_success_on_a_later_delivery(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    fake.script(SEND, [45011])
    row = await queue(Text("x"), key="t2")
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    clock.advance(timedelta(minutes=1))
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 2, clock.now())


async def test_a_permanent_error_fails_the_row(delivery: Delivery, fake: FakeWeChat) -> None:
    fake.script(SEND, [40003])
    row = await queue(Text("x"), key="p1")
    assert await delivery.deliver(row.id) is DeliveryStatus.FAILED
    await row.refresh_from_db()
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("40003")


async def test_delivering_a_row_that_is_not_there_does_nothing(
    delivery: Delivery, fake: FakeWeChat
) -> None:
    # A row handed over by a transaction that then rolled back.
    assert await delivery.deliver(987654) is DeliveryStatus.DUPLICATE
    assert fake.calls() == []


async def test_a_row_with_an_unreadable_payload_fails_without_a_call(
    delivery: Delivery, fake: FakeWeChat
) -> None:
    row = await OutboxMessage.create(
        idempotency_key="bad-payload", openid=OPENID, kind="notice", payload={"msgtype": "voice"}
    )
    assert await delivery.deliver(row.id) is DeliveryStatus.FAILED
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
        delivery = delivery_via(make_api(fake.base_url, http, down), clock)
        row = await queue(Text("x"), key="store-down")
        status = await delivery.deliver(row.id)
    finally:
        await down.aclose()
    assert status is DeliveryStatus.RETRY_LATER
    assert fake.calls() == []
    await row.refresh_from_db()
    assert row.status is OutboxStatus.QUEUED
    assert row.last_error is not None and "store unavailable" in row.last_error


# --- the sender's rule for a lost answer (issue: customer-service messages safe to retry) ---


async def test_a_connection_refused_before_the_request_is_retried(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> None:
    # Nothing listens: the request was never written, so trying again cannot repeat it. The
    # client retries within the call, then the outbox backs off and the row goes later.
    await make_api(fake.base_url, http, store).tokens.get()  # a token, so only the send fails
    nowhere = f"http://127.0.0.1:{closed_port()}"
    refused = delivery_via(make_api(nowhere, http, store, retry=RetryPolicy(retries=2)), clock)
    row = await queue(Text("你好"), key="refused")
    assert await refused.deliver(row.id) is DeliveryStatus.RETRY_LATER
    await row.refresh_from_db()
    assert (row.status, row.outcome) == (OutboxStatus.QUEUED, "retry")
    clock.advance(timedelta(minutes=1))
    working = delivery_via(make_api(fake.base_url, http, store), clock)
    assert await working.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(SEND) == 1


async def test_an_answer_after_the_timeout_is_outcome_unknown_and_never_sent_again(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> None:
    # WeChat got the message but answered after our timeout: a customer-service message has no
    # idempotency key, so sending it again could show it twice. The client's usual retries
    # (three here) must not apply, and the row is never claimed again.
    await make_api(fake.base_url, http, store).tokens.get()
    fake.slow(SEND, TOO_LATE.delay)
    impatient = make_api(
        fake.base_url,
        http,
        store,
        retry=RetryPolicy(retries=3),
        timeout=aiohttp.ClientTimeout(total=GIVE_UP_S),
    )
    delivery = delivery_via(impatient, clock)
    row = await queue(Text("生日快乐"), key="late", kind="birthday")
    assert await delivery.deliver(row.id) is DeliveryStatus.OUTCOME_UNKNOWN
    await fake.answered()  # the call it got
    assert fake.count(SEND) == 1
    await row.refresh_from_db()
    assert (row.status, row.outcome) == (OutboxStatus.FAILED, "outcome_unknown")
    assert row.last_error is not None and row.last_error.startswith("outcome unknown")
    clock.advance(timedelta(hours=1))
    assert await delivery.deliver(row.id) is DeliveryStatus.DUPLICATE
    assert await delivery.send_due() == {}
    assert fake.count(SEND) == 1


async def test_a_template_answered_after_the_timeout_is_retried_under_its_client_msg_id(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> None:
    # Template messages carry client_msg_id: WeChat shows one message per id within 10 minutes,
    # so after a lost answer the client may send again (and does).
    await make_api(fake.base_url, http, store).tokens.get()
    fake.slow(TEMPLATE, TOO_LATE.delay)
    impatient = make_api(
        fake.base_url,
        http,
        store,
        retry=RetryPolicy(retries=1),
        timeout=aiohttp.ClientTimeout(total=GIVE_UP_S),
    )
    row = await queue(Template("T", {"a": "b"}), key="late-template")
    status = await delivery_via(impatient, clock).deliver(row.id)
    await fake.answered()
    assert status is DeliveryStatus.RETRY_LATER  # retried in the call, then by the outbox
    ids = {call.body["client_msg_id"] for call in fake.calls(TEMPLATE)}
    assert fake.count(TEMPLATE) == 2 and ids == {f"clubbot-outbox-{row.id}"}
