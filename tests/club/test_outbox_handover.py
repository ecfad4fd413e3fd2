"""Rows reach the sending workers when their transaction commits: never before (a worker would
look for a row that is not there yet), never after a rollback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise.transactions import in_transaction

from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.db.tx import transaction
from club.messaging import announcements
from club.messaging import outbox as outbox_module
from club.messaging.outbox import Outbox
from club.programme import load_programme

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
PROGRAMME = load_programme(None)


class Handed:
    def __init__(self) -> None:
        self.ids: list[int] = []

    async def __call__(self, ids: Sequence[int]) -> None:
        # What a worker would do at once: look the rows up.
        assert await OutboxMessage.filter(id__in=list(ids)).count() == len(ids)
        self.ids.extend(ids)


async def member() -> Member:
    return await Member.create(
        openid="oHandover0001", status=MemberStatus.ACTIVE, last_message_at=NOW - timedelta(hours=1)
    )


def upgrade() -> announcements.Say:
    return announcements.tier_upgrade(PROGRAMME, "gold", NOW)


async def test_outside_a_transaction_a_due_row_is_handed_over_at_once(db: None) -> None:
    m, handed = await member(), Handed()
    told = await Outbox(PROGRAMME, handed).tell(upgrade(), key="k1", now=NOW, member_id=m.id)
    assert handed.ids == [told.outbox_id]


async def test_inside_a_transaction_it_is_handed_over_after_the_commit(db: None) -> None:
    m, handed = await member(), Handed()
    async with transaction():
        told = await Outbox(PROGRAMME, handed).tell(upgrade(), key="k2", now=NOW, member_id=m.id)
        assert handed.ids == []
    assert handed.ids == [told.outbox_id]


async def test_a_rolled_back_transaction_hands_nothing_over(db: None) -> None:
    m, handed = await member(), Handed()
    with pytest.raises(RuntimeError, match="later step failed"):
        async with transaction():
            await Outbox(PROGRAMME, handed).tell(upgrade(), key="k3", now=NOW, member_id=m.id)
            raise RuntimeError("a later step failed")
    assert handed.ids == []
    assert await OutboxMessage.all().count() == 0


async def test_writing_inside_a_plain_transaction_is_refused(db: None) -> None:
    m, handed = await member(), Handed()
    with pytest.raises(RuntimeError, match=r"club\.db\.tx\.transaction"):
        async with in_transaction():
            await Outbox(PROGRAMME, handed).tell(upgrade(), key="k4", now=NOW, member_id=m.id)
    assert handed.ids == []


async def test_a_feed_that_fails_loses_nothing(db: None, caplog: pytest.LogCaptureFixture) -> None:
    async def down(ids: Sequence[int]) -> None:
        raise ConnectionError("the queue is down")

    m = await member()
    told = await Outbox(PROGRAMME, down).tell(upgrade(), key="k5", now=NOW, member_id=m.id)
    assert told.outbox_id is not None
    assert (await OutboxMessage.get(id=told.outbox_id)).status == "queued"  # the sweep's to find
    assert "could not hand 1 outbox row(s) over" in caplog.text


async def test_a_slow_hand_over_goes_on_after_its_caller_and_is_waited_for_at_shutdown(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue slower than `HAND_OVER_WITHIN_S` (Redis frozen) does not hold the caller; the
    hand-over goes on, and a process stopping waits for it (`hand_overs_done`)."""
    monkeypatch.setattr(outbox_module, "HAND_OVER_WITHIN_S", 0.05)
    m, handed, queue_answers = await member(), Handed(), asyncio.Event()

    async def slow(ids: Sequence[int]) -> None:
        await queue_answers.wait()
        await handed(ids)

    told = await Outbox(PROGRAMME, slow).tell(upgrade(), key="k9", now=NOW, member_id=m.id)
    assert handed.ids == []  # the caller went on
    done = asyncio.create_task(outbox_module.hand_overs_done())
    await asyncio.sleep(0.05)
    assert not done.done()  # shutting down waits for it
    queue_answers.set()
    await asyncio.wait_for(done, 5)
    assert handed.ids == [told.outbox_id]
