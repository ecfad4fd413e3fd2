"""The scheduler's runs, for staff: did last night's greetings go out, did the value refresh
fail, which day did the scheduler miss and was it made up since (by the start-up catch-up, by
hand, or by a later run that does the earlier days' work), when does each job run next."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, field_validator

from bot.logs import Redactor, secret_values
from bot.schedule import JOBS, covers_earlier_days, daily_jobs, due_times, missed_days
from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.schemas import In, Out
from club.job_runs import (
    DayTiming,
    JobRunView,
    JobStatus,
    RunStarter,
    Timing,
    first_run_day,
    missed_day_timing,
    run_timing,
    runs_since,
)
from club.staff.accounts import Permission

DEFAULT_DAYS = 14
MAX_DAYS = 92
"""A quarter: enough to see a pattern, few rows (eight jobs a day at most)."""
LONG_RUN = timedelta(hours=1)
"""A run still `running` this long after it started is marked. The longest nightly jobs take
minutes (a year's lots expiring, the value refresh of a million members): past an hour its
process has most likely died. A running scheduler resumes a killed run of today; one of an
earlier day stays unfinished until it runs again (by hand, or in a restarted scheduler's
catch-up when that day is the job's latest due)."""
MISSED_AFTER = timedelta(minutes=10)
"""A run is recorded within seconds of its time; a day counts as missed only this long after,
so a scheduler starting up (its catch-up) is not reported as a gap."""
COUNTS_NOTE = (
    "What the run did, written when it finishes: empty while it runs and after a failure. With "
    "attempts > 1 (a run resumed after a failure or after its process was killed) these are the "
    "counts of the last attempt only: the runner does not add attempts up, so what an earlier "
    "attempt did is not in them (the greetings count what an earlier attempt sent as `already`)."
)

TIMING_NOTE = (
    "`on_time`: run by the scheduler at the job's time; `made_up`: done later, see `made_up`; "
    "`not_made_up`: missed, failed or left unfinished, and nothing made it up; `running`: "
    "running now; `by_hand`: run by hand when it was not due (a job off the schedule, or before "
    "its time that day); `not_recorded`: finished, but what started it was not recorded (runs "
    "before migration 0032). Expiry, the tier review, the value refresh and the churn scan do "
    "the work of every earlier day each time they run, so the next run that finished makes up "
    "a day missed or failed; greetings and rankings are made up only by a run of that day."
)
STARTED_BY_NOTE = (
    "What started the last attempt: `schedule` (the scheduler at the job's time), `catch_up` "
    "(a scheduler's start-up catch-up: a run it missed while down, or the retry of a failed "
    "one), `hand` (`python -m scheduler run`). A killed run the scheduler's sweep resumed keeps "
    "who started it. Null: recorded before this was kept (migration 0032)"
)


JobName = Annotated[str, Field(json_schema_extra={"enum": list(JOBS)})]
"""A job's name, checked against the jobs that exist (the schema lists them)."""


class JobRunsQuery(In):
    days: int = Field(
        default=DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="Today and the days before it"
    )
    job: JobName | None = Field(default=None, description="One job's runs only")

    @field_validator("job")
    @classmethod
    def _known(cls, job: str | None) -> str | None:
        if job is not None and job not in JOBS:
            raise ValueError(f"unknown job {job!r}; one of: {', '.join(JOBS)}")
        return job


class MadeUpOut(Out):
    by: RunStarter | None = Field(
        description="What started the run that made the day up (see `started_by`)"
    )
    at: datetime = Field(description="When that run finished")
    run_day: date = Field(
        description="The day of that run: the day's own, or a later day's whose run did its work"
    )


class JobRunOut(Out):
    job: str
    day: date = Field(description="The day the run is for (the club's time zone)")
    status: JobStatus
    attempts: int
    started_at: datetime = Field(description="When the last attempt started")
    finished_at: datetime | None
    duration_s: float | None = Field(description="Of the last attempt; null while it runs")
    counts: dict[str, int] = Field(description=COUNTS_NOTE)
    counts_cover: Literal["run", "last_attempt"] = Field(
        description="`last_attempt`: attempts > 1, the counts are of the last attempt only"
    )
    running_long: bool = Field(description="Still running more than `long_run_s` after it started")
    last_error: str | None = Field(
        description="Why the last attempt failed (exception and message), phone numbers, tokens "
        "and secrets masked as in the log; null once a later attempt finished"
    )
    started_by: RunStarter | None = Field(description=STARTED_BY_NOTE)
    timing: Timing = Field(description="Whether the day's work was done on time. " + TIMING_NOTE)
    made_up: MadeUpOut | None = Field(description="How the day was made up (`timing` made_up)")


class MissedDayOut(Out):
    day: date
    timing: Literal["made_up", "not_made_up"]
    made_up: MadeUpOut | None = Field(
        description="The later run that did the day's work; null: not made up"
    )


class ScheduledJobOut(Out):
    job: str
    next_due: datetime | None = Field(description="When the scheduler runs it next")
    missed_days: list[date] = Field(
        description="Days in the range when it was due and no run was recorded (the scheduler "
        "was down, say), newest first; days before the first run recorded are not counted"
    )
    missed: list[MissedDayOut] = Field(
        description="The same days, newest first, each with whether a later run made it up. "
        + TIMING_NOTE
    )


class JobRunsOut(Out):
    first_day: date
    last_day: date = Field(description="Today, in the club's time zone")
    time_zone: str
    long_run_s: int
    first_run_day: date | None = Field(
        description="The earliest run recorded, of any job; null: none at all (is the "
        "scheduler running?)"
    )
    schedule: list[ScheduledJobOut]
    runs: list[JobRunOut] = Field(description="Newest first")


def _made_up(found: DayTiming, now: datetime) -> MadeUpOut | None:
    made = found.made_up
    if made is None:
        return None
    return MadeUpOut(by=made.by, at=made.at.astimezone(now.tzinfo), run_day=made.run_day)


def _run_out(run: JobRunView, found: DayTiming, now: datetime, redact: Redactor) -> JobRunOut:
    ended = run.finished_at
    tz = now.tzinfo
    return JobRunOut(
        job=run.job, day=run.day, status=run.status, attempts=run.attempts,
        started_at=run.started_at.astimezone(tz),
        finished_at=ended.astimezone(tz) if ended is not None else None,
        duration_s=(ended - run.started_at).total_seconds() if ended is not None else None,
        counts=dict(run.counts),
        counts_cover="last_attempt" if run.attempts > 1 else "run",
        running_long=_running_long(run, now),
        last_error=redact(run.last_error) if run.last_error is not None else None,
        started_by=run.started_by, timing=found.timing, made_up=_made_up(found, now),
    )  # fmt: skip


def _running_long(run: JobRunView, now: datetime) -> bool:
    return run.status is JobStatus.RUNNING and now - run.started_at > LONG_RUN


async def list_job_runs(call: Call) -> JobRunsOut:
    query = call.query_as(JobRunsQuery)
    settings = call.deps.settings
    now = call.now.astimezone(settings.tz)
    first = now.date() - timedelta(days=query.days - 1)
    runs = await runs_since(first, query.job)
    began = await first_run_day()
    timings: dict[tuple[str, date], DayTiming] = {}
    schedule = []
    for job, trigger in daily_jobs(call.deps.programme, settings.tz):
        if query.job not in (None, job):
            continue
        own = [r for r in runs if r.job == job]
        timings.update(_timings(job, trigger, own, first, now))
        ran = {r.day for r in own}
        missed = (
            [] if began is None else missed_days(trigger, ran, max(first, began), now, MISSED_AFTER)
        )
        due = trigger.get_next_fire_time(None, now)
        missed_out = [_missed_out(job, day, own, now) for day in missed]
        schedule.append(
            ScheduledJobOut(job=job, next_due=due, missed_days=missed, missed=missed_out)
        )
    redact = Redactor(secret_values(settings))
    return JobRunsOut(
        first_day=first, last_day=now.date(), time_zone=settings.club_tz,
        long_run_s=int(LONG_RUN.total_seconds()), first_run_day=began, schedule=schedule,
        runs=[_run_out(r, timings.get((r.job, r.day)) or _off_schedule(r, now), now, redact)
              for r in runs],
    )  # fmt: skip


def _timings(
    job: str, trigger: CronTrigger, runs: list[JobRunView], first: date, now: datetime
) -> dict[tuple[str, date], DayTiming]:
    """Whether each run's day was done on time or made up (`runs`: the job's only)."""
    due = due_times(trigger, first, now)
    covers = covers_earlier_days(job)
    return {
        (job, r.day): run_timing(
            r, runs, due=due.get(r.day), covers=covers, running_long=_running_long(r, now)
        )
        for r in runs
    }


def _missed_out(job: str, day: date, runs: list[JobRunView], now: datetime) -> MissedDayOut:
    found = missed_day_timing(day, runs, covers=covers_earlier_days(job))
    made_up = _made_up(found, now)
    timing: Literal["made_up", "not_made_up"] = "made_up" if made_up else "not_made_up"
    return MissedDayOut(day=day, timing=timing, made_up=made_up)


def _off_schedule(run: JobRunView, now: datetime) -> DayTiming:
    """A job the scheduler does not run (automations: by hand): never due, nothing to make up."""
    return run_timing(run, [], due=None, covers=False, running_long=_running_long(run, now))


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/jobs",
        view=list_job_runs,
        operation_id="listJobRuns",
        summary="Read the scheduled jobs' recent runs and when each is due next",
        description=(
            "The runs of the last `days` days (birthday and festival greetings, points expiry, "
            "tier review, rankings, value refresh, churn scan, automations run by hand), newest "
            "first, each with its status, attempts, times, counts, error, what started it and "
            "whether its day was done on time or made up; and for each job on the schedule when "
            "it is next due and the days it was due but never ran, each made up or not. "
            + COUNTS_NOTE
        ),
        permission=Permission.READ_JOBS,
        query=JobRunsQuery,
        response=JobRunsOut,
    ),
]
