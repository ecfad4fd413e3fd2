"""A job's run killed half-way (SIGKILL) and run again, as real processes on PostgreSQL and
Redis, and what the ledger must say afterwards: shared by the kill tests of each job step."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise.functions import Sum

from club.db.models.jobs import JobRun, JobStatus
from club.db.models.ledger import LedgerEntry, PointsLot
from club.db.models.members import Member, MemberStatus
from tests.scheduler.processes import finish, start

LOCK_TTL = 1
"""The killed run's lock lapses within a second (the default is a minute)."""


async def members(n: int, prefix: str, now: datetime) -> list[int]:
    """`n` members who joined long ago, in one statement; their ids in order."""
    joined = now - timedelta(days=800)
    await Member.bulk_create(
        [
            Member(
                openid=f"o{prefix}{i:06d}",
                status=MemberStatus.ACTIVE,
                consent_at=joined,
                joined_at=joined,
                tier="taste",
            )
            for i in range(n)
        ]
    )
    return [int(i) for i in await Member.all().order_by("id").values_list("id", flat=True)]


async def kill_when(job: str, day: str, reached: Callable[[], Awaitable[bool]]) -> None:
    """Run `job` for `day` in a process and SIGKILL it once `reached()` (polled every 20 ms, a
    minute at most): its record is left RUNNING and its lock held until LOCK_TTL lapses."""
    proc = await start(job, "--date", day, "--lock-ttl", str(LOCK_TTL))
    for _ in range(3000):
        if await reached() or proc.returncode is not None:
            break
        await asyncio.sleep(0.02)
    assert proc.returncode is None, "the run ended before it was killed"
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert (await JobRun.get(job=job, day=day)).status is JobStatus.RUNNING


async def run_again(job: str, day: str) -> str:
    """Run `job` for `day` again in a process, to the end (once the killed run's lock has
    lapsed); the run is then done at its second attempt. Its output."""
    code, out = await finish(await start(job, "--date", day))
    if code == 3:  # the killed run's lock had not lapsed yet
        assert "busy" in out
        await asyncio.sleep(LOCK_TTL + 0.2)
        code, out = await finish(await start(job, "--date", day))
    assert code == 0 and f"{job} {day}: done" in out, out
    record = await JobRun.get(job=job, day=day)
    assert record.status is JobStatus.DONE and record.attempts == 2
    return out


async def per_member(rows: Any) -> Counter[int]:
    """How many of the query's rows each member has."""
    return Counter(int(m) for m in await rows.values_list("member_id", flat=True))


async def totals(model: Any, field: str) -> dict[int, int]:
    """Each member's sum of `field` over the model's rows."""
    rows = (
        await model.annotate(total=Sum(field))
        .group_by("member_id")
        .values_list("member_id", "total")
    )
    return {int(m): int(t) for m, t in rows}


async def assert_ledger_holds(balances: dict[int, int]) -> None:
    """The members' balances are these, the ledger sums to each and the lots hold it."""
    assert dict(await Member.all().values_list("id", "points_balance")) == balances
    assert await totals(LedgerEntry, "points") == balances
    assert await totals(PointsLot, "remaining") == balances
