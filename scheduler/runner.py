"""Each run of each job once: a Redis lock per (job, day) and a database record of the run.

- The lock (`SET NX EX`, refreshed while the job runs) keeps two schedulers, on any hosts, from
  running the same (job, day) at the same time. A killed process stops refreshing it, so it frees
  itself within its TTL and the next attempt resumes the run (a running scheduler makes one:
  `scheduler.app.resume_interrupted`).
- The `JobRun` row (unique on job and day) says whether the run already finished: a second run
  for the same day does nothing.
- Effects inside a job are idempotent on their own keys (outbox keys, ledger refs), so resuming a
  run killed half-way does the rest and nothing twice.
- Each attempt is stamped with what started it (`RunStarter`: the schedule, the start-up
  catch-up, a run by hand), so staff can tell a day done on time from one made up later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from bot import keys
from bot.kv import Redis, release_if_ours
from bot.logs import mask_phones, mask_urls
from club.clock import Clock
from club.db.models.jobs import JobRun, JobStatus, RunStarter

log = logging.getLogger(__name__)

JobBody = Callable[[date], Awaitable[Mapping[str, int]]]
"""A job for one day; returns what it did (counts by name)."""

_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


class Outcome(StrEnum):
    DONE = "done"
    """This call ran the job to the end."""
    ALREADY_DONE = "already_done"
    """An earlier run for this day finished: nothing done."""
    BUSY = "busy"
    """Another process holds the lock for this (job, day) right now: nothing done."""
    FAILED = "failed"


@dataclass(frozen=True)
class RunResult:
    job: str
    day: date
    outcome: Outcome
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None

    def describe(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.counts.items())
        text = f"{self.job} {self.day.isoformat()}: {self.outcome.value}"
        if counts:
            text += f" ({counts})"
        if self.error:
            text += f": {self.error}"
        return text


class JobRunner:
    def __init__(self, *, store: Redis, clock: Clock, lock_ttl_s: int = keys.JOB_LOCK_TTL_S):
        self._store = store
        self._clock = clock
        self._ttl = lock_ttl_s
        self._owner = f"{socket.gethostname()}:{os.getpid()}"

    async def run(self, job: str, day: date, body: JobBody, *, by: RunStarter | None) -> RunResult:
        """Run `body` for (job, day) unless that run finished. `by`: what starts this attempt,
        kept on the record; None: a resume on behalf of whoever started the run (the scheduler's
        sweep finishing a killed run), which keeps the record's."""
        done = await JobRun.get_or_none(job=job, day=day, status=JobStatus.DONE)
        if done is not None:
            return RunResult(job, day, Outcome.ALREADY_DONE, dict(done.counts))
        lock_key = keys.job_run(job, day.isoformat())
        token = f"{self._owner}:{id(body)}"
        if not await self._store.set(lock_key, token, nx=True, ex=self._ttl):
            return RunResult(job, day, Outcome.BUSY)
        heartbeat = asyncio.create_task(self._keep(lock_key, token))
        try:
            return await self._run_locked(job, day, body, by)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await release_if_ours(self._store, lock_key, token)

    async def _run_locked(
        self, job: str, day: date, body: JobBody, by: RunStarter | None
    ) -> RunResult:
        record = await self._start(job, day, by)
        if record is None:
            done = await JobRun.get(job=job, day=day)
            return RunResult(job, day, Outcome.ALREADY_DONE, dict(done.counts))
        try:
            counts = dict(await body(day))
        except Exception as exc:
            # Kept masked as the log masks it: a driver's error quotes the value it refused (a
            # phone number), and staff read this text (the jobs page).
            error = mask_phones(mask_urls(f"{type(exc).__name__}: {exc}"))[:255]
            log.exception("job %s for %s failed", job, day)
            await JobRun.filter(id=record.id).update(
                status=JobStatus.FAILED, finished_at=self._clock.now(), last_error=error
            )
            return RunResult(job, day, Outcome.FAILED, error=error)
        await JobRun.filter(id=record.id).update(
            status=JobStatus.DONE, finished_at=self._clock.now(), counts=counts, last_error=None
        )
        log.info("job %s for %s done: %s", job, day, counts)
        return RunResult(job, day, Outcome.DONE, counts)

    async def _start(self, job: str, day: date, by: RunStarter | None) -> JobRun | None:
        """The run's record, created or resumed; None when it finished meanwhile."""
        now = self._clock.now()
        try:
            return await JobRun.create(job=job, day=day, started_at=now, started_by=by)
        except IntegrityError:
            pass
        record = await JobRun.get(job=job, day=day)
        if record.status is JobStatus.DONE:
            return None
        # A failed or killed run: we hold the lock, so nobody else is running it now.
        attempt = record.attempts + 1
        again: dict[str, object] = {"started_by": by} if by is not None else {}
        await JobRun.filter(id=record.id).update(
            status=JobStatus.RUNNING, attempts=attempt, started_at=now, **again
        )
        if record.status is JobStatus.RUNNING:
            # Its process died (or lost the lock) half-way: said once, as the run is taken up.
            log.warning(
                "job %s %s: resuming a run its process left unfinished (attempt %d, the last "
                "started %s)", job, day.isoformat(), attempt, record.started_at.isoformat(),
            )  # fmt: skip
        else:
            log.info("job %s %s: running again after a failure (attempt %d)", job, day, attempt)
        return record

    async def _keep(self, lock_key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            refreshed = await self._store.eval(_REFRESH, 1, lock_key, token, self._ttl)  # type: ignore[misc]
            if not refreshed:
                log.warning("lost the lock %s while running", lock_key)
                return
