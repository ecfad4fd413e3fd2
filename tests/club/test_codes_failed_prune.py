"""Failed bottle-code attempts too old to count are deleted for every member, a batch at a time.

A member's own rows are pruned when that member fails again; a member who never does would keep
theirs for ever without the daily run tested here (the expire-points job calls it).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise.transactions import in_transaction

from club.codes.bottle import prune_failed_attempts
from club.db.models.catalog import FailedCodeAttempt
from club.db.models.members import Member

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)
KEPT = timedelta(days=2)


async def _member(n: int) -> int:
    member = await Member.create(openid=f"o-prune-{n}", joined_at=NOW, consent_at=NOW)
    return int(member.id)


async def _attempts(member_id: int, *ages: timedelta) -> None:
    for age in ages:
        await FailedCodeAttempt.create(member_id=member_id, at=NOW - age, outcome="unknown")


async def _left() -> list[tuple[int, datetime]]:
    rows = await FailedCodeAttempt.all().order_by("member_id", "at").values_list("member_id", "at")
    return [(int(m), at) for m, at in rows]


@pytest.mark.usefixtures("db")
async def test_old_attempts_of_every_member_go_in_batches_the_recent_ones_stay() -> None:
    quiet, busy, fresh = await _member(1), await _member(2), await _member(3)
    old = [timedelta(days=d) for d in (2.01, 3, 7, 30, 400)]
    await _attempts(quiet, *old)
    await _attempts(busy, *old, KEPT - timedelta(minutes=1), timedelta(hours=1))
    # Exactly two days old still counts for nothing, but is not older than the window: kept.
    await _attempts(fresh, KEPT, timedelta(minutes=5))
    assert await prune_failed_attempts(NOW, batch=3) == 10
    assert await _left() == [
        (busy, NOW - KEPT + timedelta(minutes=1)),
        (busy, NOW - timedelta(hours=1)),
        (fresh, NOW - KEPT),
        (fresh, NOW - timedelta(minutes=5)),
    ]
    # A second run (the job retried, or run twice) finds nothing to do.
    assert await prune_failed_attempts(NOW, batch=3) == 0
    assert len(await _left()) == 4


@pytest.mark.usefixtures("db")
async def test_a_batch_exactly_full_and_an_empty_table() -> None:
    assert await prune_failed_attempts(NOW) == 0
    member = await _member(1)
    await _attempts(member, *(timedelta(days=3, minutes=i) for i in range(4)))
    assert await prune_failed_attempts(NOW, batch=2) == 4
    assert await _left() == []


@pytest.mark.usefixtures("db", "pg_only")
async def test_rows_a_member_s_transaction_holds_are_skipped_not_waited_for() -> None:
    # A member failing a code prunes their own old rows under their lock; the daily run must
    # neither wait for that transaction nor deadlock with it: it leaves those rows to it.
    busy, quiet = await _member(1), await _member(2)
    await _attempts(busy, timedelta(days=3), timedelta(days=4))
    await _attempts(quiet, timedelta(days=3), timedelta(days=4), timedelta(days=5))
    holding, release = asyncio.Event(), asyncio.Event()

    async def member_transaction() -> None:
        async with in_transaction() as conn:
            old = FailedCodeAttempt.filter(member_id=busy, at__lt=NOW - KEPT).using_db(conn)
            await old.delete()
            holding.set()
            await release.wait()

    task = asyncio.create_task(member_transaction())
    await holding.wait()
    try:
        assert await asyncio.wait_for(prune_failed_attempts(NOW, batch=2), timeout=10) == 3
    finally:
        release.set()
        await task
    assert await _left() == []
