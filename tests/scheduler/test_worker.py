"""The sending side against the local fake WeChat API: fallbacks, back-off, unreachable members."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot import keys
from bot.kv import Redis
from bot.queue import Feeder, build_broker
from club.clock import FixedClock
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.greetings.service import greet_birthdays, ledger_gifts
from club.messaging.delivery import OUTCOME_UNKNOWN, SENDING_LEASE, Delivery
from club.programme import Programme
from scheduler.worker import dispatch_due, register_task
from tests.conftest import TEST_REDIS_URL
from tests.fakes import FakeWeChat

SEND = "message/custom/send"
TEMPLATE = "message/template/send"


async def greeted(
    clock: FixedClock, programme: Programme, n: int = 1, *, window: bool = True
) -> list[int]:
    """n members with a birthday today, greeted: the ids of their queued outbox rows."""
    now = clock.now()
    for i in range(n):
        await Member.create(
            openid=f"oWorker{i:06d}",
            status=MemberStatus.ACTIVE,
            consent_at=now - timedelta(days=9),
            joined_at=now - timedelta(days=9),
            tier="taste",
            birthday_mmdd=now.month * 100 + now.day,
            last_interaction_at=now - timedelta(hours=2) if window else None,
            last_message_at=now - timedelta(hours=2) if window else None,
        )
    await greet_birthdays(now.date(), programme=programme, now=now, gifts=ledger_gifts(programme))
    ids: list[Any] = (
        await OutboxMessage.filter(status=OutboxStatus.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return [int(i) for i in ids]


async def test_customer_service_message_sent_once(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    ids = await greeted(clock, programme)
    assert await delivery.deliver_ids(ids) == {"sent": 1}
    assert await delivery.deliver_ids(ids) == {"duplicate": 1}
    assert fake.count(SEND) == 1
    assert "生日快乐" in fake.calls(SEND)[0].body["text"]["content"]


@pytest.mark.parametrize("errcode", [45015, 45047])
async def test_outside_the_window_falls_back_to_the_template(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme, errcode: int
) -> None:
    ids = await greeted(clock, programme)
    fake.script(SEND, [errcode])
    counts = await delivery.deliver_ids(ids)
    assert counts == {"outside_window": 1, "template_sent": 1}
    assert fake.count(TEMPLATE) == 1
    body = fake.calls(TEMPLATE)[0].body
    assert body["template_id"] == "demo-tmpl-birthday"
    original = await OutboxMessage.get(id=ids[0])
    assert original.status is OutboxStatus.SKIPPED
    assert original.last_error is not None and original.last_error.startswith(str(errcode))
    fallback = await OutboxMessage.get(idempotency_key=f"{original.idempotency_key}:template")
    assert fallback.channel is OutboxChannel.TEMPLATE and fallback.status is OutboxStatus.SENT
    # A re-delivered task sends neither again.
    assert await delivery.deliver_ids(ids) == {"duplicate": 1}
    assert fake.count(TEMPLATE) == 1 and fake.count(SEND) == 1


async def test_busy_wechat_is_retried_later_with_back_off(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    ids = await greeted(clock, programme)
    fake.script(SEND, [45011, -1])
    assert await delivery.deliver_ids(ids) == {"retry_later": 1}
    first = await OutboxMessage.get(id=ids[0])
    assert first.status is OutboxStatus.QUEUED and first.not_before is not None
    first_wait = first.not_before - clock.now()
    assert await delivery.send_due() == {}  # not due yet: nothing sent
    clock.set(first.not_before)
    assert await delivery.send_due() == {"retry_later": 1}
    second = await OutboxMessage.get(id=ids[0])
    assert second.not_before is not None
    assert second.not_before - clock.now() > first_wait  # the wait grows
    clock.set(second.not_before)
    assert await delivery.send_due() == {"sent": 1}
    assert fake.count(SEND) == 3
    assert (await OutboxMessage.get(id=ids[0])).attempts == 3


@pytest.mark.parametrize("errcode", [43004, 43101])
async def test_unreachable_member_recorded_and_not_messaged_again(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme, errcode: int
) -> None:
    ids = await greeted(clock, programme)
    fake.script(SEND, [errcode])
    assert await delivery.deliver_ids(ids) == {"unreachable": 1}
    assert fake.count(TEMPLATE) == 0
    member = await Member.get(openid="oWorker000000")
    assert member.unreachable_at is not None
    # The next greeting to this member is recorded as skipped, never sent.
    clock.advance(timedelta(days=1))
    tomorrow = clock.now()
    await Member.filter(id=member.id).update(birthday_mmdd=tomorrow.month * 100 + tomorrow.day)
    await greet_birthdays(
        tomorrow.date(), programme=programme, now=tomorrow, gifts=ledger_gifts(programme)
    )
    row = await OutboxMessage.get(idempotency_key=f"greeting:{member.id}:{tomorrow.date()}")
    assert row.status is OutboxStatus.SKIPPED and row.last_error == "skipped: member unreachable"


async def test_nothing_is_sent_in_quiet_hours_it_waits(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    ids = await greeted(clock, programme)  # queued at 10:00, due at once
    clock.set(clock.now().replace(hour=21, minute=30))  # ...but the workers were busy till now
    assert await delivery.deliver_ids(ids) == {"held_for_quiet_hours": 1}
    assert fake.count(SEND) == 0
    row = await OutboxMessage.get(id=ids[0])
    assert row.status is OutboxStatus.QUEUED
    assert row.not_before == (clock.now() + timedelta(days=1)).replace(hour=9, minute=0)
    clock.set(row.not_before)
    assert await delivery.send_due() == {"sent": 1}


async def test_template_rows_go_as_templates(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    ids = await greeted(clock, programme, window=False)
    assert await delivery.deliver_ids(ids) == {"sent": 1}
    assert fake.count(TEMPLATE) == 1 and fake.count(SEND) == 0


async def test_queue_workers_send_chunks_once_each(
    redis_only: None,
    delivery: Delivery,
    store: Redis,
    fake: FakeWeChat,
    clock: FixedClock,
    programme: Programme,
) -> None:
    from taskiq.api import run_receiver_task

    assert TEST_REDIS_URL is not None
    ids = await greeted(clock, programme, n=520)  # two chunks: 500 + 20
    broker = build_broker(TEST_REDIS_URL)
    register_task(broker, {"deps": WorkerDeps(delivery, store)})  # type: ignore[dict-item]
    await broker.startup()
    try:
        feeder = Feeder(broker)
        await feeder(ids)
        await feeder(ids[:30])  # a chunk handed over twice sends nothing twice
        broker.is_worker_process = True
        receiver = asyncio.create_task(run_receiver_task(broker, max_async_tasks=2))
        try:
            for _ in range(300):
                if await OutboxMessage.filter(status=OutboxStatus.SENT).count() == len(ids):
                    break
                await asyncio.sleep(0.1)
        finally:
            receiver.cancel()
            with pytest.raises(asyncio.CancelledError):
                await receiver
    finally:
        await broker.shutdown()
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == len(ids)
    assert fake.count(SEND) == len(ids)
    assert len({c.body["touser"] for c in fake.calls(SEND)}) == len(ids)


@dataclass
class WorkerDeps:
    """What the sending task uses of a worker's resources."""

    delivery: Delivery
    store: Redis


class RecordingFeed:
    """Stands in for the taskiq feed: records what would be put on the stream."""

    def __init__(self) -> None:
        self.kicked: list[list[int]] = []

    async def __call__(self, ids: Sequence[int]) -> None:
        self.kicked.append(list(ids))


async def test_rows_due_after_quiet_hours_are_fed_once_when_due(
    db: None, store: Redis, clock: FixedClock, programme: Programme
) -> None:
    feed = RecordingFeed()
    clock.set(clock.now().replace(hour=22))
    now = clock.now()
    ids = await greeted(clock, programme, n=3)  # queued for 09:00 tomorrow
    assert await dispatch_due(store, feed, now) == 0
    clock.set(now.replace(hour=9) + timedelta(days=1, seconds=30))
    assert await dispatch_due(store, feed, clock.now()) == 3
    assert feed.kicked == [ids]
    clock.advance(timedelta(seconds=30))
    assert await dispatch_due(store, feed, clock.now()) == 0  # fed already: not again
    # Still queued ten minutes later (a lost task): fed again; a second copy finds them claimed.
    clock.advance(timedelta(minutes=10))
    await OutboxMessage.filter(id__in=ids).update(updated_at=clock.now() - timedelta(hours=1))
    assert await dispatch_due(store, feed, clock.now()) == 3
    # A row failed on the daily quota is tried again once the quota resets (its not_before).
    quota_reset = clock.now() + timedelta(hours=2)
    await OutboxMessage.filter(id=ids[0]).update(
        status=OutboxStatus.FAILED, outcome="quota", not_before=quota_reset
    )
    await OutboxMessage.filter(id__in=ids[1:]).update(status=OutboxStatus.SENT)
    feed.kicked.clear()
    clock.set(quota_reset + timedelta(seconds=10))
    assert await dispatch_due(store, feed, clock.now()) == 1
    assert feed.kicked == [[ids[0]]]


async def claimed_by_a_sender_that_died(outbox_id: int, clock: FixedClock) -> None:
    """What `Delivery.deliver` leaves behind when its process stops during the send (after the
    claim and the stamp of the first attempt, before the answer)."""
    await OutboxMessage.filter(id=outbox_id).update(
        status=OutboxStatus.SENDING,
        attempts=1,
        updated_at=clock.now(),
        first_attempt_at=clock.now(),
    )


async def test_a_row_whose_sender_stopped_before_the_first_attempt_is_sent_after_all(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    # Claimed, not yet stamped (the stamp comes before the send): it never went.
    ids = await greeted(clock, programme, n=1)
    await OutboxMessage.filter(id=ids[0]).update(
        status=OutboxStatus.SENDING, attempts=1, updated_at=clock.now()
    )
    clock.advance(SENDING_LEASE + timedelta(minutes=1))
    assert (await delivery.send_due())["requeued"] == 1
    row = await OutboxMessage.get(id=ids[0])
    assert row.status is OutboxStatus.SENT and row.attempts == 2
    assert fake.count(SEND) == 1


async def test_a_row_left_sending_past_its_lease_fails_as_unknown_and_is_never_resent(
    delivery: Delivery,
    fake: FakeWeChat,
    clock: FixedClock,
    programme: Programme,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = await greeted(clock, programme, n=2)
    await claimed_by_a_sender_that_died(ids[0], clock)
    clock.advance(SENDING_LEASE - timedelta(seconds=1))
    counts = await delivery.send_due()
    assert counts == {"sent": 1}  # inside the lease the row is left to its sender
    assert (await OutboxMessage.get(id=ids[0])).status is OutboxStatus.SENDING

    clock.advance(timedelta(seconds=1))
    with caplog.at_level("WARNING", logger="club.messaging.delivery"):
        counts = await delivery.send_due()
    assert counts == {"outcome_unknown": 1}
    row = await OutboxMessage.get(id=ids[0])
    assert row.status is OutboxStatus.FAILED and row.attempts == 1
    assert row.outcome == "outcome_unknown"
    assert row.last_error == f"{OUTCOME_UNKNOWN}; its sender stopped while sending"
    assert "1 outbox row" in caplog.text and str(ids[0]) in caplog.text
    # Not resent: not by the next sweep, nor by a queue task delivered again.
    assert await delivery.send_due() == {}
    assert await delivery.deliver_ids([ids[0]]) == {"duplicate": 1}
    assert fake.count(SEND) == 1


async def test_the_feeder_settles_abandoned_rows_and_does_not_feed_them(
    db: None, store: Redis, clock: FixedClock, programme: Programme
) -> None:
    feed = RecordingFeed()
    ids = await greeted(clock, programme, n=2)
    await OutboxMessage.filter(id=ids[1]).update(status=OutboxStatus.SENT)
    # It had waited for quiet hours to end: its not_before falls in the window the feeder scans.
    await OutboxMessage.filter(id=ids[0]).update(not_before=clock.now())
    await claimed_by_a_sender_that_died(ids[0], clock)
    clock.advance(SENDING_LEASE + timedelta(minutes=1))
    assert await dispatch_due(store, feed, clock.now()) == 0
    assert feed.kicked == []
    row = await OutboxMessage.get(id=ids[0])
    assert (row.status, row.outcome) == (OutboxStatus.FAILED, "outcome_unknown")


async def test_a_queue_of_another_prefix_is_left_alone(redis_only: None, store: Redis) -> None:
    """Two deployments (or a test suite and a running bot) on one Redis: each hands its rows
    to the stream of its own prefix, and a worker reads only that one."""
    assert TEST_REDIS_URL is not None
    ours = keys.prefix()
    other = f"{ours}-other"
    brokers = []
    try:
        for prefix, chunk in ((ours, [1, 2]), (other, [3])):
            keys.use_prefix(prefix)
            broker = build_broker(TEST_REDIS_URL)
            brokers.append(broker)
            await broker.startup()
            await Feeder(broker)(chunk)
    finally:
        keys.use_prefix(ours)
        for broker in brokers:
            await broker.shutdown()
    assert await store.xlen(f"{ours}:outbox") == 1
    assert await store.xlen(f"{other}:outbox") == 1
    await store.delete(f"{other}:outbox")


async def test_the_sweeps_leave_a_campaigns_rows_to_its_chunks(
    delivery: Delivery, fake: FakeWeChat, store: Redis, clock: FixedClock, programme: Programme
) -> None:
    """A paused campaign's written rows wait for its resume (its chunks send them, at its pace):
    neither the feeder nor the embedded sweep sends them, lost task or due or not."""
    feed = RecordingFeed()
    ids = await greeted(clock, programme, n=3)
    await OutboxMessage.filter(id__in=ids[:2]).update(kind="campaign")
    await OutboxMessage.filter(id=ids[1]).update(not_before=clock.now() + timedelta(minutes=1))
    clock.advance(timedelta(minutes=11))
    await OutboxMessage.filter(id__in=ids).update(updated_at=clock.now() - timedelta(hours=1))
    assert await dispatch_due(store, feed, clock.now()) == 1
    assert feed.kicked == [[ids[2]]]
    assert await delivery.send_due() == {"sent": 1}
    assert [c.body["touser"] for c in fake.calls(SEND)] == ["oWorker000002"]
