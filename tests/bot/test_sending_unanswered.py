"""A template message WeChat did not answer (a timeout, a dropped connection: it may have gone)
is tried again under its `client_msg_id`; once no attempt is left it is recorded as WeChat left
it: sent when an attempt was answered, failed only when every attempt was refused, otherwise
failed with its outcome unknown (which the weekly cap counts). Against the fake WeChat."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import aiohttp
import pytest

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging.delivery import SENDING_LEASE, Delivery, DeliveryStatus
from club.messaging.message import Template
from club.messaging.window import marketing_recent
from tests.bot.test_sending import OPENID, TEMPLATE, delivery_via, make_api, queue
from tests.fakes import FakeWeChat, Reply

ATTEMPTS = 3
TIMEOUT = Reply(delay=0.5)  # past the client's 0.2 s
DROPPED = Reply(drop=True)


@pytest.fixture
async def delivery(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> Delivery:
    """One HTTP call an attempt (the client does not retry), at most `ATTEMPTS` attempts."""
    api = make_api(fake.base_url, http, store, timeout=aiohttp.ClientTimeout(total=0.2))
    await api.tokens.get()  # a token, so that only the sends are scripted
    return delivery_via(api, clock, max_attempts=ATTEMPTS)


async def festival(key: str = "festival:中秋:2026:7") -> OutboxMessage:
    """A marketing template message (the weekly cap counts those that may have gone)."""
    return await queue(Template("TPL-FEST", {"first": "中秋快乐"}), key=key, kind="festival")


async def attempts(delivery: Delivery, clock: FixedClock, row: OutboxMessage) -> DeliveryStatus:
    """Deliver the row as the workers would, each attempt once its back-off has passed, until
    it is settled; what the last attempt came to."""
    for _ in range(ATTEMPTS):
        status = await delivery.deliver(row.id)
        if status is not DeliveryStatus.RETRY_LATER:
            break
        clock.advance(timedelta(minutes=2))  # past its back-off, inside WeChat's 10 minutes
    await asyncio.sleep(0.4)  # the fake finishes answering the calls the client gave up on
    return status


async def recorded(row: OutboxMessage) -> tuple[OutboxStatus, str | None, int]:
    await row.refresh_from_db()
    return row.status, row.outcome, row.attempts


async def capped(clock: FixedClock) -> int:
    """The member's marketing messages in the weekly cap."""
    return (await marketing_recent([OPENID], now=clock.now())).get(OPENID, 0)


@pytest.mark.parametrize("unanswered", [TIMEOUT, DROPPED], ids=["timeout", "dropped"])
async def test_a_template_never_answered_ends_outcome_unknown(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, unanswered: Reply
) -> None:
    fake.script(TEMPLATE, [unanswered] * ATTEMPTS)
    row = await festival()
    assert await attempts(delivery, clock, row) is DeliveryStatus.OUTCOME_UNKNOWN
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", ATTEMPTS)
    assert row.last_error is not None and row.last_error.startswith("outcome unknown")
    assert fake.count(TEMPLATE) == ATTEMPTS
    assert await capped(clock) == 1  # the member may have it


@pytest.mark.parametrize(
    "answers",
    [[TIMEOUT, 40003], [DROPPED, -1, 45011]],
    ids=["timeout-then-refused", "dropped-then-busy-to-the-last"],
)
async def test_a_template_unanswered_once_then_refused_ends_outcome_unknown(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, answers: Sequence[Reply | int]
) -> None:
    """The refusal speaks for its own attempt only: the unanswered one may have gone."""
    fake.script(TEMPLATE, answers)
    row = await festival()
    assert await attempts(delivery, clock, row) is DeliveryStatus.OUTCOME_UNKNOWN
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", len(answers))
    assert row.last_error is not None and row.last_error.startswith("outcome unknown")
    assert await capped(clock) == 1


@pytest.mark.parametrize("answers", [[40003], [-1, 45011, -1]], ids=["refused", "busy-every-time"])
async def test_a_template_refused_every_time_fails_as_before(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, answers: Sequence[int]
) -> None:
    fake.script(TEMPLATE, answers)
    row = await festival()
    assert await attempts(delivery, clock, row) is DeliveryStatus.FAILED
    assert await recorded(row) == (OutboxStatus.FAILED, "failed", len(answers))
    assert row.last_error is not None and row.last_error.startswith(str(answers[-1]))
    assert fake.delivered("template") == []
    assert await capped(clock) == 0  # known not to have gone


@pytest.mark.parametrize(
    "unanswered",
    [TIMEOUT, dataclasses.replace(DROPPED, act=True)],
    ids=["timeout", "dropped-after-wechat-took-it"],
)
async def test_a_template_unanswered_then_answered_is_sent_once(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, unanswered: Reply
) -> None:
    fake.script(TEMPLATE, [unanswered])
    row = await festival()
    assert await attempts(delivery, clock, row) is DeliveryStatus.SENT
    assert await recorded(row) == (OutboxStatus.SENT, "sent", 2)
    assert row.last_error is None and row.wechat_msgid is not None
    assert fake.delivered("template") == [OPENID]  # one message, whoever took it first
    assert await capped(clock) == 1


async def test_a_template_whose_sender_died_then_refused_ends_outcome_unknown(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """A sender that stopped while sending leaves an attempt nobody heard the answer to: the
    template goes back to the queue (WeChat shows one message per `client_msg_id`), and a
    refusal of the next attempt does not say the first did not go."""
    fake.script(TEMPLATE, [40003])
    row = await festival()
    await OutboxMessage.filter(id=row.id).update(
        status=OutboxStatus.SENDING,
        attempts=1,
        updated_at=clock.now(),
        first_attempt_at=clock.now(),
    )
    clock.advance(SENDING_LEASE + timedelta(seconds=1))
    assert await delivery.send_due() == {"requeued": 1, "outcome_unknown": 1}
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", 2)


async def test_a_template_whose_sender_died_on_its_last_attempt_ends_outcome_unknown(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """Back in the queue it could never be claimed again (no attempt left): it stayed queued
    for good, counted as waiting by the campaign's progress."""
    row = await festival()
    await OutboxMessage.filter(id=row.id).update(
        status=OutboxStatus.SENDING,
        attempts=ATTEMPTS,
        updated_at=clock.now(),
        first_attempt_at=clock.now() - timedelta(minutes=4),
    )
    clock.advance(SENDING_LEASE + timedelta(seconds=1))
    assert await delivery.send_due() == {"outcome_unknown": 1}
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", ATTEMPTS)
    assert fake.count(TEMPLATE) == 0
    assert await capped(clock) == 1
