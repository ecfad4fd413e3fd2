"""A run whose scheduler was killed half-way is finished by a scheduler that is running: once
the dead run's lock lapses, within a sweep's interval. Before, the other schedulers had found
it busy at its time and a scheduler restarted within the lock's minute found it busy too: the
day's run stayed half-done (the rest of the day's birthdays never greeted)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.jobs import JobRun, JobStatus
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.job_runs import RunStarter
from scheduler import app as scheduler_app
from scheduler.app import Runtime, serve
from scheduler.jobs import JobContext
from scheduler.runner import JobBody, Outcome

TZ = ZoneInfo("Asia/Shanghai")
App = TestClient[web.Request, web.Application]
TODAY = date(2026, 11, 23)
"""The demo programme greets at 10:00, expires points at 03:00 and reviews tiers on the 1st."""


async def birthdays_today(n: int, now: datetime) -> list[int]:
    joined = now - timedelta(days=400)
    for i in range(n):
        await Member.create(
            openid=f"oResume{i:05d}",
            status=MemberStatus.ACTIVE,
            consent_at=joined,
            joined_at=joined,
            tier="taste",
            birthday_mmdd=now.month * 100 + now.day,
        )
    return [int(m) for m in await Member.all().values_list("id", flat=True)]


async def killed_half_way(store: Redis, job: str, day: date, *, lock_s: int) -> None:
    """What a SIGKILL leaves (tests/scheduler/test_processes.py): the run's record RUNNING and
    its lock held until its TTL lapses, nobody refreshing it."""
    await JobRun.create(
        job=job, day=day, started_at=datetime(2026, 11, 23, 10, tzinfo=TZ),
        started_by=RunStarter.SCHEDULE,
    )  # fmt: skip
    await store.set(keys.job_run(job, day.isoformat()), "dead-host:4242:1", ex=lock_s)


async def test_a_running_scheduler_finishes_a_run_whose_scheduler_was_killed(
    client: App, clock: FixedClock, store: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_app, "RESUME_EVERY_S", 0.2, raising=False)
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=TZ))
    member_ids = await birthdays_today(3, clock.now())
    await killed_half_way(store, "birthday", TODAY, lock_s=1)

    stop = asyncio.Event()
    task = asyncio.create_task(serve(Runtime(client.app[DEPS]), stop))
    try:
        for _ in range(300):  # its catch-up finds the run busy; the sweep resumes it
            run = await JobRun.get(job="birthday", day=TODAY)
            if run.status is JobStatus.DONE:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    run = await JobRun.get(job="birthday", day=TODAY)
    assert (run.status, run.attempts) == (JobStatus.DONE, 2)
    greeted = await OutboxMessage.filter(kind="birthday").values_list("member_id", flat=True)
    assert sorted(greeted) == sorted(member_ids)
    gifts = await LedgerEntry.filter(ref__startswith="birthday:").values_list(
        "member_id", flat=True
    )
    assert sorted(gifts) == sorted(member_ids)


async def test_the_sweep_resumes_only_todays_runs_due_by_now_and_not_failed_ones(
    client: App, clock: FixedClock, store: Redis
) -> None:
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    await birthdays_today(1, clock.now())
    rt = Runtime(client.app[DEPS])
    yesterday = TODAY - timedelta(days=1)
    # A greeting for a past day does harm: yesterday's killed run is left as it is.
    await killed_half_way(store, "festival", yesterday, lock_s=1)
    # Today's greetings are due at 10:00: a run started by hand at 08:00 and killed is the
    # scheduler's to run at 10:00, not the sweep's at 09:00.
    await killed_half_way(store, "birthday", TODAY, lock_s=1)
    # A failed run is not retried every half-minute (the catch-up at start-up retries it).
    await JobRun.create(
        job="value-refresh", day=TODAY, started_at=clock.now(), status=JobStatus.FAILED
    )
    # Expiry at 03:00 is due: its killed run is resumed once its lock lapses.
    await killed_half_way(store, "expire-points", TODAY, lock_s=1)

    assert await scheduler_app.resume_interrupted(rt) == []  # the dead run's lock is still held
    await asyncio.sleep(1.1)
    resumed = await scheduler_app.resume_interrupted(rt)
    assert [(r.job, r.day, r.outcome) for r in resumed] == [("expire-points", TODAY, Outcome.DONE)]
    # The sweep finishes the run on behalf of whoever started it: still the schedule's, on time.
    expiry = await JobRun.get(job="expire-points", day=TODAY)
    assert (expiry.attempts, expiry.started_by) == (2, RunStarter.SCHEDULE)
    left = {r.job: r.status for r in await JobRun.exclude(job="expire-points")}
    assert left == {
        "festival": JobStatus.RUNNING,
        "birthday": JobStatus.RUNNING,
        "value-refresh": JobStatus.FAILED,
    }
    assert await OutboxMessage.all().count() == 0


def slowed(monkeypatch: pytest.MonkeyPatch, job: str, seconds: float) -> None:
    """The job's run takes `seconds` longer (a long run: a year's lots expiring)."""
    real = scheduler_app.job_body

    def body(name: str, ctx: JobContext) -> JobBody:
        run = real(name, ctx)
        if name != job:
            return run

        async def slow(day: date) -> Mapping[str, int]:
            await asyncio.sleep(seconds)
            return await run(day)

        return slow

    monkeypatch.setattr(scheduler_app, "job_body", body)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_long_resumed_run_is_warned_of_once_not_every_sweep(
    client: App,
    clock: FixedClock,
    store: Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before, the sweep that resumed a run lasted as long as the run, and APScheduler warned at
    every sweep's time that it skipped it ("maximum number of running instances reached")."""
    monkeypatch.setattr(scheduler_app, "RESUME_EVERY_S", 0.1, raising=False)
    slowed(monkeypatch, "birthday", 1.5)  # 15 sweeps' time
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=TZ))
    await birthdays_today(1, clock.now())
    await killed_half_way(store, "birthday", TODAY, lock_s=1)
    caplog.set_level(logging.DEBUG, logger="scheduler")

    stop = asyncio.Event()
    task = asyncio.create_task(serve(Runtime(client.app[DEPS]), stop))
    try:
        for _ in range(200):
            if (await JobRun.get(job="birthday", day=TODAY)).status is JobStatus.DONE:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # sweeps after it finished find nothing to say
    finally:
        stop.set()
        await task
    run = await JobRun.get(job="birthday", day=TODAY)
    assert (run.status, run.attempts) == (JobStatus.DONE, 2)
    warnings = warnings_in(caplog)
    assert len(warnings) == 1, warnings
    [warning] = warnings
    assert warning.startswith("scheduler.runner: ") and "birthday 2026-11-23" in warning
    assert "resum" in warning and "attempt 2" in warning


async def test_a_run_whose_lock_is_held_is_left_to_its_process_without_a_warning(
    client: App, clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A legitimately long run of another scheduler: every sweep finds it, none warns."""
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=TZ))
    await killed_half_way(store, "birthday", TODAY, lock_s=60)  # its process refreshes the lock
    rt = Runtime(client.app[DEPS])
    caplog.set_level(logging.DEBUG, logger="scheduler")
    for _ in range(5):
        assert await scheduler_app.resume_interrupted(rt) == []
    assert warnings_in(caplog) == []
    held = [r for r in caplog.records if "birthday 2026-11-23" in r.getMessage()]
    assert held and {r.levelno for r in held} == {logging.DEBUG}
    assert (await JobRun.get(job="birthday", day=TODAY)).status is JobStatus.RUNNING
