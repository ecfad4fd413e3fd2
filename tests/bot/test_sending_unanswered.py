"""A template message WeChat did not answer (a timeout, a dropped connection: it may have gone)
is tried again under its `client_msg_id`; once no attempt is left it is recorded as WeChat left
it: sent when an attempt was answered, failed only when every attempt was refused, otherwise
failed with its outcome unknown (which the weekly cap counts). Against the fake WeChat."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import aiohttp
import pytest

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging.batch_delivery import deliver_many
from club.messaging.delivery import SENDING_LEASE, Delivery, DeliveryStatus
from club.messaging.message import Template
from club.messaging.window import marketing_recent
from tests.bot.test_sending import OPENID, TEMPLATE, delivery_via, make_api, queue
from tests.fakes import GIVE_UP_S, TOO_LATE, FakeWeChat, Reply

ATTEMPTS = 3
TIMEOUT = TOO_LATE  # past the client's GIVE_UP_S
DROPPED = Reply(drop=True)


@pytest.fixture
async def delivery(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> Delivery:
    """One HTTP call an attempt (the client does not retry), at most `ATTEMPTS` attempts."""
    api = make_api(fake.base_url, http, store, timeout=aiohttp.ClientTimeout(total=GIVE_UP_S))
    await api.tokens.get()  # a token, so that only the sends are scripted
    return delivery_via(api, clock, max_attempts=ATTEMPTS)


async def festival(
    key: str = "festival:中秋:2026:7", member_id: int | None = None
) -> OutboxMessage:
    """A marketing template message (the weekly cap counts those that may have gone)."""
    return await queue(
        Template("TPL-FEST", {"first": "中秋快乐"}), key=key, kind="festival", member_id=member_id
    )


async def attempts(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, row: OutboxMessage
) -> DeliveryStatus:
    """Deliver the row as the workers would, each attempt once its back-off has passed, until
    it is settled; what the last attempt came to."""
    for _ in range(ATTEMPTS):
        status = await delivery.deliver(row.id)
        if status is not DeliveryStatus.RETRY_LATER:
            break
        clock.advance(timedelta(minutes=2))  # past its back-off, inside WeChat's 10 minutes
    await fake.answered()  # the calls the client gave up on too
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
    assert await attempts(delivery, fake, clock, row) is DeliveryStatus.OUTCOME_UNKNOWN
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
    assert await attempts(delivery, fake, clock, row) is DeliveryStatus.OUTCOME_UNKNOWN
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", len(answers))
    assert row.last_error is not None and row.last_error.startswith("outcome unknown")
    assert await capped(clock) == 1


@pytest.mark.parametrize("answers", [[40003], [-1, 45011, -1]], ids=["refused", "busy-every-time"])
async def test_a_template_refused_every_time_fails_as_before(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, answers: Sequence[int]
) -> None:
    fake.script(TEMPLATE, answers)
    row = await festival()
    assert await attempts(delivery, fake, clock, row) is DeliveryStatus.FAILED
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
    assert await attempts(delivery, fake, clock, row) is DeliveryStatus.SENT
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


# --- a retry the de-duplication window no longer covers, and a member gone meanwhile ---------


async def unanswered_then_over_quota(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> tuple[OutboxMessage, DeliveryStatus]:
    """A template WeChat took without answering, then 45009 a minute later: what that came to."""
    fake.script(TEMPLATE, [dataclasses.replace(DROPPED, act=True), 45009])
    row = await festival()
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    clock.advance(timedelta(minutes=1))
    return row, await delivery.deliver(row.id)


async def test_a_template_unanswered_then_over_quota_is_not_sent_again_after_midnight(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """WeChat shows one message per `client_msg_id` for 10 minutes only: the quota's retry
    after midnight, hours after the unanswered attempt, could show it a second time. Judged
    when the 45009 comes: outcome unknown, never sent again, counted as possibly sent."""
    row, status = await unanswered_then_over_quota(delivery, fake, clock)
    assert status is DeliveryStatus.OUTCOME_UNKNOWN
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", 2)
    assert row.maybe_sent and row.last_error is not None
    assert row.last_error.startswith("outcome unknown") and "45009" in row.last_error
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=clock.now().tzinfo))
    assert await delivery.deliver(row.id) is DeliveryStatus.DUPLICATE
    assert await delivery.send_due() == {}
    assert fake.count(TEMPLATE) == 2 and fake.delivered("template") == [OPENID]
    assert await capped(clock) == 1


async def test_a_template_unanswered_just_before_midnight_waits_for_the_quota_inside_the_window(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """Midnight comes within WeChat's 10 minutes of the unanswered attempt: the retry then
    carries the same `client_msg_id` and cannot show the message twice, so it waits."""
    tz = clock.now().tzinfo
    clock.set(datetime(2026, 11, 23, 23, 55, tzinfo=tz))
    row, status = await unanswered_then_over_quota(delivery, fake, clock)
    assert status is DeliveryStatus.QUOTA
    assert await recorded(row) == (OutboxStatus.FAILED, "quota", 2)
    clock.set(datetime(2026, 11, 24, 0, 1, tzinfo=tz))
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    assert fake.count(TEMPLATE) == 3 and fake.delivered("template") == [OPENID]


async def test_a_batch_holding_an_unanswered_template_for_the_quota_ends_it_unknown(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """The batch's other template rows are not sent once WeChat said 45009 (held for the
    quota without asking): one an earlier attempt of which went unanswered is judged as if
    WeChat had said it to that row, and not sent again after midnight."""
    first = await festival("festival:中秋:2026:1")  # sent first in the batch: the 45009
    unanswered = await festival("festival:中秋:2026:8")
    fake.script(TEMPLATE, [DROPPED])
    assert await delivery.deliver(unanswered.id) is DeliveryStatus.RETRY_LATER
    fake.script(TEMPLATE, [45009])
    clock.advance(timedelta(minutes=1))
    counts: Counter[str] = Counter()
    done = await deliver_many(delivery, [first.id, unanswered.id], counts, concurrency=1)
    assert [d.status for d in done] == [DeliveryStatus.QUOTA, DeliveryStatus.OUTCOME_UNKNOWN]
    assert await recorded(unanswered) == (OutboxStatus.FAILED, "outcome_unknown", 2)
    assert fake.count(TEMPLATE) == 2
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=clock.now().tzinfo))
    assert await delivery.deliver(unanswered.id) is DeliveryStatus.DUPLICATE


async def test_a_template_unanswered_then_unfollowed_is_outcome_unknown_and_marks_the_member(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """43004 says the member is not following now; the unanswered attempt before it may have
    reached them: outcome unknown (the weekly cap counts it), and the member unreachable."""
    member = await Member.create(openid=OPENID)
    fake.script(TEMPLATE, [TIMEOUT, 43004])
    row = await festival(member_id=member.id)
    assert await attempts(delivery, fake, clock, row) is DeliveryStatus.OUTCOME_UNKNOWN
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", 2)
    assert row.maybe_sent and row.last_error is not None and "43004" in row.last_error
    await member.refresh_from_db()
    assert member.unreachable_at == clock.now()
    assert member.unreachable_reason is not None and "43004" in member.unreachable_reason
    assert await capped(clock) == 1


async def test_a_template_refused_43004_at_once_is_unreachable_as_before(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    member = await Member.create(openid=OPENID)
    fake.script(TEMPLATE, [43004])
    row = await festival(member_id=member.id)
    assert await delivery.deliver(row.id) is DeliveryStatus.UNREACHABLE
    assert await recorded(row) == (OutboxStatus.SKIPPED, "unreachable", 1)
    assert not row.maybe_sent
    await member.refresh_from_db()
    assert member.unreachable_at == clock.now()
    assert await capped(clock) == 0


# --- the window counted from the unanswered attempt, and judged again when the retry runs ---


async def test_a_template_over_quota_yesterday_then_unanswered_is_retried_inside_the_window(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """45009 yesterday sent nothing: WeChat can have the message only since the attempt after
    midnight that went unanswered, and its 10 minutes start there. The retry a minute later
    carries the same `client_msg_id`: it goes, and the member has it once."""
    tz = clock.now().tzinfo
    fake.script(TEMPLATE, [45009, dataclasses.replace(DROPPED, act=True)])
    row = await festival()
    assert await delivery.deliver(row.id) is DeliveryStatus.QUOTA
    midnight = datetime(2026, 11, 24, 0, 1, tzinfo=tz)
    clock.set(midnight)
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    await row.refresh_from_db()
    assert row.maybe_sent and row.maybe_sent_at == midnight
    clock.advance(timedelta(minutes=1))
    assert await delivery.deliver(row.id) is DeliveryStatus.SENT
    assert await recorded(row) == (OutboxStatus.SENT, "sent", 3)
    assert fake.count(TEMPLATE) == 3 and fake.delivered("template") == [OPENID]


@pytest.mark.parametrize("batch", [False, True], ids=["one-row", "batch"])
async def test_a_retry_whose_window_closed_before_it_ran_is_not_sent(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, batch: bool
) -> None:
    """Unanswered at 10:00, due again 30 s later, judged inside the window then; the workers
    are down until 10:15, past WeChat's 10 minutes: sent now it could show twice. Judged again
    when it runs: outcome unknown, WeChat not asked again, the attempt not counted."""
    fake.script(TEMPLATE, [dataclasses.replace(DROPPED, act=True)])
    row = await festival()
    assert await delivery.deliver(row.id) is DeliveryStatus.RETRY_LATER
    clock.advance(timedelta(minutes=15))
    if batch:
        [done] = await deliver_many(delivery, [row.id], Counter())
        status = done.status
    else:
        status = await delivery.deliver(row.id)
    assert status is DeliveryStatus.OUTCOME_UNKNOWN
    assert await recorded(row) == (OutboxStatus.FAILED, "outcome_unknown", 1)
    assert row.last_error is not None and row.last_error.startswith("outcome unknown")
    assert fake.count(TEMPLATE) == 1
    assert await capped(clock) == 1


async def test_a_template_whose_sender_died_after_an_unanswered_attempt_counts_from_it(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock
) -> None:
    """First tried yesterday (45009), unanswered at 10:00 today, and the sender of the next
    attempt died: back to the queue (inside the 10 minutes of the unanswered attempt), sent
    once under the same `client_msg_id`."""
    row = await festival()
    await OutboxMessage.filter(id=row.id).update(
        status=OutboxStatus.SENDING,
        attempts=2,
        updated_at=clock.now() + timedelta(minutes=1),
        first_attempt_at=clock.now() - timedelta(days=1),
        maybe_sent=True,
        maybe_sent_at=clock.now(),
    )
    clock.advance(SENDING_LEASE + timedelta(minutes=1, seconds=1))
    assert await delivery.send_due() == {"requeued": 1, "sent": 1}
    assert await recorded(row) == (OutboxStatus.SENT, "sent", 3)
    assert fake.count(TEMPLATE) == 1
