"""`expire-points` killed half-way and run again, as real processes on PostgreSQL and Redis:
each lot past its date leaves its member's balance once, and each member is reminded once of
the points expiring soon. The run's own record is left half-written by a SIGKILL; what keeps
the effects single is each one's own key (the lot emptied in the transaction of its ledger row,
the reminder's outbox key)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from tortoise.functions import Sum

from club.clock import SystemClock
from club.db.models.jobs import JobRun, JobStatus
from club.db.models.ledger import LedgerEntry, PointsLot
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.points.bulk import Credit, credit_many
from club.points.expiry import BATCH
from club.rules.kinds import EntryKind
from tests.conftest import TZ
from tests.scheduler.processes import finish, start

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

MEMBERS = 4 * BATCH
"""Four transactions of expiry: the run is killed once the first has committed."""
OLD, SOON = 100, 30
"""Each member's lot past its date, and the one expiring within the reminder days."""
LOCK_TTL = "1"
"""The killed run's lock lapses within a second (the default is a minute)."""


async def members_with_expiring_points(now: datetime) -> list[int]:
    joined = now - timedelta(days=800)
    await Member.bulk_create(
        [
            Member(
                openid=f"oExpiry{i:06d}",
                status=MemberStatus.ACTIVE,
                consent_at=joined,
                joined_at=joined,
                tier="taste",
            )
            for i in range(MEMBERS)
        ]
    )
    ids = [int(i) for i in await Member.all().values_list("id", flat=True)]
    earned = now - timedelta(days=400)
    for points, ref, until in (
        (OLD, "old", now - timedelta(hours=1)),
        (SOON, "soon", now + timedelta(days=10)),
    ):
        gifts = [Credit(m, points, f"{ref}:{m}", "seed") for m in ids]
        await credit_many(gifts, now=earned, expires_at=until)
    return ids


async def expired_entries() -> int:
    return await LedgerEntry.filter(kind=EntryKind.EXPIRE).count()


async def per_member(rows: Any) -> Counter[int]:
    return Counter(int(m) for m in await rows.values_list("member_id", flat=True))


async def totals(model: Any, field: str) -> dict[int, int]:
    """Each member's sum of `field` over the model's rows."""
    rows = (
        await model.annotate(total=Sum(field))
        .group_by("member_id")
        .values_list("member_id", "total")
    )
    return {int(m): int(t) for m, t in rows}


async def test_expiry_killed_half_way_and_run_again_takes_each_lot_once(
    pg_only: None, redis_only: None, db: None
) -> None:
    now = SystemClock(TZ).now()
    day = now.date().isoformat()
    member_ids = await members_with_expiring_points(now)

    proc = await start("expire-points", "--date", day, "--lock-ttl", LOCK_TTL)
    for _ in range(3000):  # a minute at most
        if await expired_entries() >= BATCH or proc.returncode is not None:
            break
        await asyncio.sleep(0.02)
    assert proc.returncode is None, "the run ended before it was killed"
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert BATCH <= await expired_entries() < MEMBERS, "killed half-way"
    assert (await JobRun.get(job="expire-points", day=day)).status is JobStatus.RUNNING

    code, out = await finish(await start("expire-points", "--date", day))
    if code == 3:  # the killed run's lock had not lapsed yet
        assert "busy" in out
        await asyncio.sleep(1.2)
        code, out = await finish(await start("expire-points", "--date", day))
    assert code == 0 and f"expire-points {day}: done" in out, out
    record = await JobRun.get(job="expire-points", day=day)
    assert record.status is JobStatus.DONE and record.attempts == 2

    # Each member lost the lot past its date once and kept the one expiring soon.
    assert await per_member(LedgerEntry.filter(kind=EntryKind.EXPIRE)) == Counter(member_ids)
    assert set(
        await LedgerEntry.filter(kind=EntryKind.EXPIRE).values_list("points", flat=True)
    ) == {-OLD}
    balances = dict(await Member.all().values_list("id", "points_balance"))
    assert balances == dict.fromkeys(member_ids, SOON)
    assert await totals(LedgerEntry, "points") == balances  # the ledger sums to each balance
    assert await totals(PointsLot, "remaining") == balances  # and the lots hold it
    # One reminder each of the points expiring soon, and no other message.
    assert await per_member(OutboxMessage.all()) == Counter(member_ids)
    keys = set(await OutboxMessage.all().values_list("idempotency_key", flat=True))
    assert all(key.startswith("expiry:") for key in keys), keys
