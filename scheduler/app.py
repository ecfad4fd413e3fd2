"""The scheduler: APScheduler 3.11 in CLUB_TZ, each job once per day whatever the process count.

APScheduler's own guarantees are per process (several schedulers each run every job), so every
run goes through `JobRunner` (Redis lock + JobRun row). Misfires: `coalesce`, `max_instances=1`
and a grace of six hours instead of the default second; at start-up `catch_up` runs what a
stopped scheduler missed (see there); and half a minute after the last one ended, a `sweep`
(`resume_interrupted`) finishes today's runs a killed process left half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import keys
from bot.deps import Deps
from bot.kv import Redis
from bot.metrics import count_deliveries
from bot.queue import build_broker
from bot.resources import open_resources
from bot.schedule import CATCH_UP, CatchUp, daily_jobs, fire_times
from club.campaigns.tick import tick as campaign_tick
from club.clock import Clock
from club.db.models.jobs import JobRun, JobStatus, RunStarter
from club.programme import Programme
from config import Settings
from scheduler.jobs import JobContext, job_body
from scheduler.runner import JobRunner, Outcome, RunResult
from scheduler.worker import dispatch_due, register_task

log = logging.getLogger(__name__)

MISFIRE_GRACE_S = 6 * 3600
DISPATCH_EVERY_S = 30
RESUME_EVERY_S = 30
"""How often a scheduler looks for today's runs a killed process left unfinished."""


@dataclass
class Runtime:
    """What a scheduler or worker process holds while it runs."""

    deps: Deps
    broker: Any = None
    """The taskiq broker (REDIS_URL set); None: rows are sent in-process (embedded mode)."""

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    @property
    def store(self) -> Redis:
        return self.deps.store

    @property
    def programme(self) -> Programme:
        return self.deps.programme

    def runner(self, lock_ttl_s: int | None = None) -> JobRunner:
        if lock_ttl_s is None:
            return JobRunner(store=self.store, clock=self.clock)
        return JobRunner(store=self.store, clock=self.clock, lock_ttl_s=lock_ttl_s)

    def context(self) -> JobContext:
        return JobContext(
            programme=self.programme,
            clock=self.clock,
            outbox=self.deps.outbox,
            campaigns=self.deps.campaigns,
        )

    async def run_job(
        self, name: str, day: date, *, by: RunStarter | None, lock_ttl_s: int | None = None
    ) -> RunResult:
        """`by`: what starts the run (`JobRunner.run`; None: the sweep resuming a killed one)."""
        body = job_body(name, self.context())
        return await self.runner(lock_ttl_s).run(name, day, body, by=by)


@asynccontextmanager
async def runtime(
    settings: Settings, *, clock: Clock | None = None, create_schema: bool | None = None
) -> AsyncIterator[Runtime]:
    """The resources of a scheduler or worker process (`bot.resources`), with the queue's
    broker, its sending task registered, when REDIS_URL is set."""
    keys.use_prefix(settings.redis_prefix)  # the broker's stream is named by it
    broker = (
        build_broker(settings.redis_url, visibility_s=settings.queue_visibility_seconds)
        if settings.redis_url
        else None
    )
    state: dict[str, Deps] = {}
    if broker is not None:
        register_task(broker, state)
    async with open_resources(
        settings, clock=clock, create_schema=create_schema, broker=broker
    ) as deps:
        state["deps"] = deps
        if broker is not None:
            await broker.startup()
        try:
            yield Runtime(deps, broker)
        finally:
            if broker is not None:
                await broker.shutdown()


LOOK_BACK = timedelta(days=63)
"""How far back to find a job's latest and previous runs due: two months of a monthly job."""


def build_scheduler(rt: Runtime) -> AsyncIOScheduler:
    tz = rt.settings.tz
    scheduler = AsyncIOScheduler(
        timezone=tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
    )
    for name, trigger in daily_jobs(rt.programme, tz):
        scheduler.add_job(_today, trigger, args=(rt, name), id=name, name=name)
    scheduler.add_job(
        _dispatch, IntervalTrigger(seconds=DISPATCH_EVERY_S, timezone=tz), args=(rt,), id="send"
    )
    return scheduler


async def catch_up(rt: Runtime) -> list[RunResult]:
    """At start-up, run what a stopped scheduler missed (the runner makes a repeat a no-op).

    - Birthdays and festivals: only today's run, once today's send time has passed. Past days are
      never replayed: a greeting after the birthday or the festival does harm.
    - Expire-points: its latest run due (today's after 03:00, else yesterday's), unless it ran.
      Each run expires every lot past its date and reminds of all points expiring within
      reminder_days, so it covers the days missed before it.
    - Tier review: its latest review day that has passed (this month's, else last month's), unless
      a review finished since the review day before it (a run by hand counts): one review per
      month, and a scheduler down on the review day does not skip the month.
    """
    now = rt.clock.now()
    results = []
    for name, trigger in daily_jobs(rt.programme, rt.settings.tz):
        due = _due(trigger, now)
        if not due:
            continue
        latest = due[-1]
        if CATCH_UP[name] is CatchUp.TODAY:
            if latest.date() == now.date():
                results.append(await rt.run_job(name, now.date(), by=RunStarter.CATCH_UP))
            continue
        before = due[-2].date() if len(due) > 1 else (now - LOOK_BACK).date()
        if await JobRun.exists(job=name, status=JobStatus.DONE, day__gt=before):
            continue
        results.append(await rt.run_job(name, latest.date(), by=RunStarter.CATCH_UP))
    return results


async def resume_interrupted(rt: Runtime) -> list[RunResult]:
    """Today's runs a killed process left unfinished, run again once their lock has lapsed (the
    runner resumes them; their effects are idempotent); the runs resumed.

    Without this a scheduler killed half-way left the day's run half-done: the other schedulers
    had found it busy at its time, and a scheduler restarted within the lock's TTL found it busy
    too. Only runs the scheduler itself would have started by now today: a greeting is never
    sent for a past day, nor before its time. A failed run is left to the catch-up at start-up,
    so that a job failing every time is not run again every half-minute.
    """
    now = rt.clock.now()
    today = now.date()
    running: list[Any] = await JobRun.filter(day=today, status=JobStatus.RUNNING).values_list(
        "job", flat=True
    )
    interrupted = {str(job) for job in running}
    resumed = []
    for name, trigger in daily_jobs(rt.programme, rt.settings.tz):
        if name not in interrupted or not _due_today(trigger, now):
            continue
        result = await rt.run_job(name, today, by=None)  # on behalf of whoever started it
        if result.outcome is Outcome.BUSY:
            # Its process is alive (a long run, found again by every sweep it lasts) or died
            # less than the lock's TTL ago: nothing to do, nothing worth a line at every sweep.
            log.debug("%s %s: running under a live lock, left to its process", name, today)
            continue
        log.info("resumed: %s", result.describe())  # the runner warned as it took it up
        resumed.append(result)
    return resumed


async def sweep(rt: Runtime, stop: asyncio.Event) -> None:
    """`resume_interrupted` RESUME_EVERY_S after the last sweep ended, until `stop` is set.

    Not an APScheduler interval job: a sweep that resumes a run lasts as long as the run (a
    year's lots expiring: minutes), and APScheduler warned at every half-minute of it that it
    skipped the next sweep ("maximum number of running instances reached"). Here the next sweep
    waits for the last; a run resumed is warned of once, by the runner.
    """
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESUME_EVERY_S)
        if stop.is_set():
            return
        try:
            await resume_interrupted(rt)
        except Exception:
            log.exception("the sweep for interrupted runs failed; the next one tries again")


def _due_today(trigger: CronTrigger, now: datetime) -> bool:
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    fire = trigger.get_next_fire_time(None, midnight)
    return fire is not None and fire <= now


def _due(trigger: CronTrigger, now: datetime) -> list[datetime]:
    """The trigger's fire times within LOOK_BACK of `now`, up to `now`, oldest first."""
    return fire_times(trigger, now - LOOK_BACK, now)


async def serve(rt: Runtime, stop: asyncio.Event) -> None:
    """Run the scheduler until `stop` is set."""
    scheduler = build_scheduler(rt)
    scheduler.start()
    sweeping = asyncio.create_task(sweep(rt, stop), name="clubbot-resume-sweep")
    try:
        for result in await catch_up(rt):
            log.info("catch-up: %s", result.describe())
        await _dispatch(rt)  # what the catch-up queued goes out now, not in half a minute
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)  # cancels the jobs running now; so, the sweep:
        sweeping.cancel()  # a run it resumed stays RUNNING, for the next scheduler to finish
        with contextlib.suppress(asyncio.CancelledError):
            await sweeping


async def _today(rt: Runtime, name: str) -> None:
    result = await rt.run_job(name, rt.clock.now().date(), by=RunStarter.SCHEDULE)
    log.info("%s", result.describe())


async def _dispatch(rt: Runtime) -> None:
    now = rt.clock.now()
    moved = await campaign_tick(rt.deps.campaigns, now)
    if moved:
        log.info("campaigns: %s", dict(moved))
    feed = rt.deps.outbox.feed
    if rt.broker is not None and feed is not None:
        fed = await dispatch_due(rt.store, feed, now)
        if fed:
            log.info("fed %s due outbox rows to the workers", fed)
    else:
        counts = await rt.deps.delivery.send_due()
        await count_deliveries(rt.store, counts)
        if counts:
            log.info("sent in-process: %s", dict(counts))


@dataclass
class Embedded:
    """The scheduler and sender running inside `python -m bot`; `await stop()` ends them."""

    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def stop(self) -> None:
        self.stop_event.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def start_embedded(deps: Deps) -> Embedded:
    """Start the scheduler in-process on the web app's resources (embedded mode)."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(Runtime(deps), stop), name="clubbot-scheduler")
    return Embedded(task, stop)
