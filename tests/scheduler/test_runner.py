"""Each run of each job once: the lock, the run record, resuming a failed run."""

from __future__ import annotations

import asyncio
from datetime import date

from bot import keys
from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.jobs import JobRun, JobStatus
from club.job_runs import RunStarter
from scheduler.runner import JobRunner, Outcome

DAY = date(2026, 11, 23)


class Body:
    def __init__(self, *, fail_first: bool = False, pause: float = 0.0) -> None:
        self.calls = 0
        self.fail_first = fail_first
        self.pause = pause

    async def __call__(self, day: date) -> dict[str, int]:
        self.calls += 1
        if self.pause:
            await asyncio.sleep(self.pause)
        if self.fail_first and self.calls == 1:
            raise RuntimeError("database went away")
        return {"greeted": 3}


async def test_second_run_for_the_same_day_does_nothing(
    db: None, store: Redis, clock: FixedClock
) -> None:
    runner = JobRunner(store=store, clock=clock)
    body = Body()
    first = await runner.run("birthday", DAY, body, by=RunStarter.SCHEDULE)
    second = await runner.run("birthday", DAY, body, by=RunStarter.SCHEDULE)
    assert first.outcome is Outcome.DONE and first.counts == {"greeted": 3}
    assert second.outcome is Outcome.ALREADY_DONE and second.counts == {"greeted": 3}
    assert body.calls == 1
    record = await JobRun.get(job="birthday", day=DAY)
    assert record.status is JobStatus.DONE and record.finished_at == clock.now()
    assert second.describe() == "birthday 2026-11-23: already_done (greeted=3)"
    # Another day, or another job, is another run.
    assert (await runner.run("festival", DAY, body, by=RunStarter.SCHEDULE)).outcome is Outcome.DONE
    assert body.calls == 2


async def test_held_lock_means_busy(db: None, store: Redis, clock: FixedClock) -> None:
    await store.set(keys.job_run("birthday", DAY.isoformat()), "someone-else", ex=60)
    body = Body()
    result = await JobRunner(store=store, clock=clock).run(
        "birthday", DAY, body, by=RunStarter.SCHEDULE
    )
    assert result.outcome is Outcome.BUSY and body.calls == 0
    assert await JobRun.all().count() == 0


async def test_concurrent_runs_in_one_process_run_once(
    db: None, store: Redis, clock: FixedClock
) -> None:
    body = Body(pause=0.2)
    runners = [JobRunner(store=store, clock=clock) for _ in range(5)]
    results = await asyncio.gather(
        *(r.run("birthday", DAY, body, by=RunStarter.SCHEDULE) for r in runners)
    )
    assert sorted(r.outcome.value for r in results) == ["busy"] * 4 + ["done"]
    assert body.calls == 1


async def test_the_lock_is_kept_while_a_long_job_runs(
    db: None, store: Redis, clock: FixedClock
) -> None:
    # A TTL of 2 s, not 1: the heartbeat (every third of it) must renew the lock within the TTL,
    # and with 1 s a loaded machine's stall of two thirds of a second let it lapse.
    slow = Body(pause=5)
    runner = JobRunner(store=store, clock=clock, lock_ttl_s=2)
    running = asyncio.create_task(runner.run("birthday", DAY, slow, by=RunStarter.SCHEDULE))
    await asyncio.sleep(3)  # past the TTL: only the heartbeat keeps the lock
    other = await JobRunner(store=store, clock=clock, lock_ttl_s=2).run(
        "birthday", DAY, Body(), by=RunStarter.SCHEDULE
    )
    assert other.outcome is Outcome.BUSY
    assert (await running).outcome is Outcome.DONE
    assert await store.get(keys.job_run("birthday", DAY.isoformat())) is None  # released


async def test_failed_run_is_recorded_and_resumed(
    db: None, store: Redis, clock: FixedClock
) -> None:
    runner = JobRunner(store=store, clock=clock)
    body = Body(fail_first=True)
    failed = await runner.run("birthday", DAY, body, by=RunStarter.SCHEDULE)
    assert failed.outcome is Outcome.FAILED
    assert failed.error == "RuntimeError: database went away"
    record = await JobRun.get(job="birthday", day=DAY)
    assert record.status is JobStatus.FAILED and record.last_error == failed.error
    resumed = await runner.run("birthday", DAY, body, by=RunStarter.SCHEDULE)
    assert resumed.outcome is Outcome.DONE
    record = await JobRun.get(job="birthday", day=DAY)
    assert record.status is JobStatus.DONE and record.attempts == 2 and record.last_error is None


async def test_who_started_each_attempt_is_kept_a_resume_on_anothers_behalf_keeps_it(
    db: None, store: Redis, clock: FixedClock
) -> None:
    """The jobs page tells a run on time from one made up later: the schedule started it at its
    time, the start-up catch-up, or a person (`python -m scheduler run`)."""
    runner = JobRunner(store=store, clock=clock)
    body = Body(fail_first=True)
    await runner.run("birthday", DAY, body, by=RunStarter.SCHEDULE)
    assert (await JobRun.get(job="birthday", day=DAY)).started_by is RunStarter.SCHEDULE
    await runner.run("birthday", DAY, body, by=RunStarter.CATCH_UP)  # the retry of the failure
    record = await JobRun.get(job="birthday", day=DAY)
    assert (record.status, record.attempts) == (JobStatus.DONE, 2)
    assert record.started_by is RunStarter.CATCH_UP

    await JobRun.create(job="festival", day=DAY, started_at=clock.now(), started_by="hand")
    await runner.run("festival", DAY, Body(), by=None)  # the sweep, resuming a killed run
    record = await JobRun.get(job="festival", day=DAY)
    assert (record.status, record.started_by) == (JobStatus.DONE, RunStarter.HAND)
    await runner.run("festival", DAY, Body(), by=RunStarter.HAND)  # done already: unchanged
    assert (await JobRun.get(job="festival", day=DAY)).started_by is RunStarter.HAND


async def test_a_failed_runs_error_is_kept_with_phone_numbers_masked(
    db: None, store: Redis, clock: FixedClock
) -> None:
    """Staff read the error (the jobs page): a driver quoting the value it refused does not put
    a member's phone number there."""

    async def refused(day: date) -> dict[str, int]:
        raise ValueError("invalid input for query argument $1: '13812345678'")

    failed = await JobRunner(store=store, clock=clock).run(
        "birthday", DAY, refused, by=RunStarter.SCHEDULE
    )
    record = await JobRun.get(job="birthday", day=DAY)
    assert "13812345678" not in (record.last_error or "") and "13812345678" not in failed.error
    assert record.last_error == failed.error and record.last_error.startswith("ValueError: ")
