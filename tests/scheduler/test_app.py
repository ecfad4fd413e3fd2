"""The scheduler's set-up: misfire settings, time zone, catch-up at start, the embedded mode."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.deps import DEPS
from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.jobs import JobRun, JobStatus
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.job_runs import RunStarter
from club.programme import load_programme
from clubbot.embedded import in_process_scheduler
from clubbot.web import create_app
from config import Settings
from scheduler.app import (
    LOOK_BACK,
    MISFIRE_GRACE_S,
    Runtime,
    _due,
    build_scheduler,
    catch_up,
    daily_jobs,
    runtime,
    start_embedded,
)
from scheduler.runner import Outcome
from tests.conftest import make_settings

TZ = ZoneInfo("Asia/Shanghai")


async def birthday_member(clock: FixedClock) -> Member:
    now = clock.now()
    return await Member.create(
        openid="oEmbedded0001",
        status=MemberStatus.ACTIVE,
        consent_at=now - timedelta(days=3),
        joined_at=now - timedelta(days=3),
        tier="taste",
        birthday_mmdd=now.month * 100 + now.day,
        last_interaction_at=now - timedelta(hours=1),
    )


def runtime_of(client: TestClient[web.Request, web.Application]) -> Runtime:
    deps = client.app[DEPS]
    return Runtime(deps)


async def test_jobs_run_in_the_club_time_zone_with_hours_of_misfire_grace(
    client: TestClient[web.Request, web.Application],
) -> None:
    scheduler = build_scheduler(runtime_of(client))
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    daily = (
        "birthday",
        "festival",
        "expire-points",
        "tier-review",
        "rank-ahead",
        "value-refresh",
        "churn-scan",
    )
    assert set(jobs) == {*daily, "send"}  # the resume sweep is a loop of its own (sweep)
    for job_id in daily:
        job = jobs[job_id]
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE_S >= 3600
        assert str(job.trigger.timezone) == "Asia/Shanghai"
    birthday = jobs["birthday"].trigger
    first = birthday.get_next_fire_time(None, datetime(2026, 11, 23, 0, 0, tzinfo=TZ))
    assert first == datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # the programme's send time
    review = jobs["tier-review"].trigger
    assert review.get_next_fire_time(None, datetime(2026, 11, 23, tzinfo=TZ)).day == 1
    # The report periods ranked ahead at night, before the refresh drops yesterday's rankings;
    # values after them, the churn list last, before the day's campaigns read either.
    night = datetime(2026, 11, 23, 0, 0, tzinfo=TZ)
    ahead = jobs["rank-ahead"].trigger.get_next_fire_time(None, night)
    assert ahead == night.replace(hour=1, minute=30)
    assert jobs["value-refresh"].trigger.get_next_fire_time(None, night) == night.replace(hour=2)
    churn = jobs["churn-scan"].trigger.get_next_fire_time(None, night)
    assert churn == night.replace(hour=2, minute=30)


async def test_the_schedulers_run_at_its_time_is_recorded_as_the_schedules(
    client: TestClient[web.Request, web.Application], clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))
    scheduler = build_scheduler(runtime_of(client))
    job = scheduler.get_job("festival")
    await job.func(*job.args)  # what APScheduler calls at 10:00
    run = await JobRun.get(job="festival")
    assert (run.day, run.status, run.started_by) == (
        date(2026, 11, 23), JobStatus.DONE, RunStarter.SCHEDULE,
    )  # fmt: skip


class Counted:
    """A trigger that fails the test, instead of hanging it, when asked for too many times."""

    def __init__(self, trigger: Any) -> None:
        self.trigger, self.asked = trigger, 0

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        self.asked += 1
        assert self.asked < 500, f"asked {self.asked} times; last {previous}"
        fire: datetime | None = self.trigger.get_next_fire_time(previous, now)
        return fire


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Asia/Shanghai"])
def test_the_catch_up_finds_each_run_due_once_across_a_clock_change(zone: str) -> None:
    """A job in the hour a clock going back repeats (rank-ahead at 01:30, in London on 25
    October 2026): one second after its first run is still that hour on the local clock, and
    the catch-up asked for the same run again and again, for ever (a scheduler started in the
    next two months never got past its catch-up; seen as the process-logs test hanging)."""
    tz = ZoneInfo(zone)
    now = datetime(2026, 12, 5, 11, 2, tzinfo=UTC).astimezone(tz)
    for name, trigger in daily_jobs(load_programme(None), tz):
        fires = _due(Counted(trigger), now)  # type: ignore[arg-type]
        instants = [fire.timestamp() for fire in fires]
        assert instants == sorted(set(instants)), name  # each run once, in order
        assert all(now - LOOK_BACK <= fire <= now for fire in fires), name
        if name == "rank-ahead":  # every night (both 01:30s of the night the clock goes back)
            days = sorted({fire.date() for fire in fires})
            assert days == [now.date() - timedelta(days=n) for n in range(62, -1, -1)]
            assert fires[-1] == datetime(2026, 12, 5, 1, 30, tzinfo=tz)


async def test_catch_up_runs_what_is_due_today_once(
    client: TestClient[web.Request, web.Application], clock: FixedClock
) -> None:
    member = await birthday_member(clock)
    clock.set(datetime(2026, 11, 23, 11, 30, tzinfo=TZ))  # started after the 10:00 run time
    rt = runtime_of(client)
    first = {r.job: r.outcome for r in await catch_up(rt)}
    # Birthdays and festivals at 10:00, expiry at 03:00 and the night's value refresh and churn
    # scan are due, and this month's review on the 1st has not run.
    assert first == {
        "birthday": Outcome.DONE,
        "festival": Outcome.DONE,
        "expire-points": Outcome.DONE,
        "tier-review": Outcome.DONE,
        "rank-ahead": Outcome.DONE,
        "value-refresh": Outcome.DONE,
        "churn-scan": Outcome.DONE,
    }
    # Each recorded as the catch-up's: the jobs page says the day was made up, and by what.
    assert {r.started_by for r in await JobRun.all()} == {RunStarter.CATCH_UP}
    again = {r.job: r.outcome for r in await catch_up(rt)}
    assert set(again.values()) == {Outcome.ALREADY_DONE}
    assert await OutboxMessage.filter(member_id=member.id).count() == 1

    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=TZ))  # before 10:00: only the night's jobs
    assert [r.job for r in await catch_up(rt)] == [
        "expire-points",
        "rank-ahead",
        "value-refresh",
        "churn-scan",
    ]


async def test_embedded_scheduler_catches_up_and_sends_in_process(
    client: TestClient[web.Request, web.Application], clock: FixedClock
) -> None:
    member = await birthday_member(clock)
    embedded = await start_embedded(client.app[DEPS])
    try:
        for _ in range(100):
            row = await OutboxMessage.get_or_none(member_id=member.id)
            if row is not None and row.status is OutboxStatus.SENT:
                break
            await asyncio.sleep(0.05)
    finally:
        await embedded.stop()
    assert embedded.task.done()
    row = await OutboxMessage.get(member_id=member.id)
    assert row.status is OutboxStatus.SENT and row.dry_run  # dry-run: the outbox is the destination
    run = await JobRun.get(job="birthday", day=clock.now().date())
    assert run.status is JobStatus.DONE


async def test_embedded_service_runs_for_the_apps_lifetime(
    settings: Settings, clock: FixedClock, store: Redis
) -> None:
    app = create_app(
        settings, clock=clock, store=store, create_schema=True, background=[in_process_scheduler]
    )
    async with TestClient(TestServer(app)):
        # Started with the app: its catch-up records today's runs (10:00 is the send time).
        for _ in range(100):
            if await JobRun.filter(day=clock.now().date(), job="birthday").exists():
                break
            await asyncio.sleep(0.05)
        assert await JobRun.filter(day=clock.now().date(), job="birthday").exists()
    running = [t for t in asyncio.all_tasks() if t.get_name() == "clubbot-scheduler"]
    assert running == []  # stopped with the app


async def test_a_workers_queue_takes_over_after_the_configured_visibility(
    redis_only: None,
) -> None:
    """QUEUE_VISIBILITY_SECONDS: a worker's broker takes over a stopped worker's task after it,
    touches its own every third of it, and looks every quarter of it (at most every 5 s)."""
    for setting, expected in ((None, (20, 20_000, 5)), (8, (8, 8_000, 2))):
        overrides = {} if setting is None else {"queue_visibility_seconds": setting}
        async with runtime(make_settings(**overrides), create_schema=True) as rt:
            assert rt.broker is not None
            found = (rt.broker.visibility_s, rt.broker.idle_timeout, rt.broker.claim_every_s)
            assert found == expected
