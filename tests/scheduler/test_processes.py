"""Real processes on the real PostgreSQL and Redis: each greeting once, a killed run resumed."""

from __future__ import annotations

import asyncio
import signal
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from club.db.models.jobs import JobRun, JobStatus
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.greetings.service import BATCH
from tests.scheduler.processes import finish, start

pytestmark = pytest.mark.slow

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)


async def birthday_members(n: int) -> list[int]:
    now = datetime(2026, 11, 1, tzinfo=TZ)
    await Member.bulk_create(
        [
            Member(
                openid=f"oProc{i:06d}",
                status=MemberStatus.ACTIVE,
                consent_at=now,
                joined_at=now,
                tier="taste",
                birthday_mmdd=1123 if i % 2 else None,
                birthday_lunar_month=None if i % 2 else 10,
                birthday_lunar_day=None if i % 2 else 15,  # lunar 10-15 is 2026-11-23
            )
            for i in range(n)
        ]
    )
    return [m.id for m in await Member.all()]


async def assert_each_greeted_once(member_ids: list[int]) -> None:
    rows: list[Any] = await OutboxMessage.filter(kind="birthday").values_list(
        "member_id", flat=True
    )
    assert sorted(rows) == sorted(member_ids)  # every member, none twice
    gifts: list[Any] = await LedgerEntry.filter(ref__startswith="birthday:").values_list(
        "member_id", flat=True
    )
    assert sorted(gifts) == sorted(member_ids)
    balances: set[Any] = set(await Member.all().values_list("points_balance", flat=True))
    assert balances == {50}


async def test_two_processes_at_once_greet_each_member_once(
    pg_only: None, redis_only: None, db: None
) -> None:
    member_ids = await birthday_members(200)
    procs = [await start("birthday", "--date", DAY.isoformat()) for _ in range(2)]
    results = [await finish(p) for p in procs]
    outputs = sorted(out.strip().splitlines()[-1] for _, out in results)
    # One ran it; the other found it running (busy) or already done.
    assert any(o.startswith("birthday 2026-11-23: done") for o in outputs), outputs
    assert sum("done (" in o and "already" not in o for o in outputs) == 1, outputs
    await assert_each_greeted_once(member_ids)
    record = await JobRun.get(job="birthday", day=DAY)
    assert record.status is JobStatus.DONE and record.attempts == 1
    # And a third run for the same day does nothing.
    code, out = await finish(await start("birthday", "--date", DAY.isoformat()))
    assert code == 0 and "already_done" in out
    await assert_each_greeted_once(member_ids)


async def test_killed_half_way_and_run_again_sends_the_rest_none_twice(
    pg_only: None, redis_only: None, db: None
) -> None:
    # Three batches of 1,000: a batch's gifts are one transaction, given once the batch before
    # is recorded; kill once the second batch's gifts are in.
    member_ids = await birthday_members(2500)
    proc = await start("birthday", "--date", DAY.isoformat(), "--lock-ttl", "2")
    for _ in range(1200):
        if await LedgerEntry.all().count() >= 2 * BATCH:
            break
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    done_before = await OutboxMessage.all().count()
    gifts_before = await LedgerEntry.all().count()
    assert BATCH <= done_before < len(member_ids), "kill half-way"
    assert gifts_before in (2 * BATCH, len(member_ids)), "whole batches of gifts"
    assert (await JobRun.get(job="birthday", day=DAY)).status is JobStatus.RUNNING

    # The dead run's lock lapses within its TTL; until then a new run is told it is busy.
    code, out = await finish(await start("birthday", "--date", DAY.isoformat()))
    if code == 3:
        assert "busy" in out
        await asyncio.sleep(2.5)
        code, out = await finish(await start("birthday", "--date", DAY.isoformat()))
    assert code == 0 and "birthday 2026-11-23: done" in out, out
    assert f"already={done_before}" in out
    await assert_each_greeted_once(member_ids)
    record = await JobRun.get(job="birthday", day=DAY)
    assert record.status is JobStatus.DONE and record.attempts == 2
    assert record.finished_at is not None
    assert record.finished_at - record.started_at < timedelta(minutes=5)
