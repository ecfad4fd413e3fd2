"""The scheduler's runs, for staff: did last night's greetings go out, did the value refresh
fail, which day did the scheduler miss, when does each job run next."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from bot.logs import Redactor, secret_values
from bot.schedule import JOBS, daily_jobs, missed_days
from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.schemas import In, Out
from club.job_runs import JobRunView, JobStatus, first_run_day, runs_since
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


class ScheduledJobOut(Out):
    job: str
    next_due: datetime | None = Field(description="When the scheduler runs it next")
    missed_days: list[date] = Field(
        description="Days in the range when it was due and no run was recorded (the scheduler "
        "was down, say), newest first; days before the first run recorded are not counted"
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


def _run_out(run: JobRunView, now: datetime, redact: Redactor) -> JobRunOut:
    ended = run.finished_at
    tz = now.tzinfo
    return JobRunOut(
        job=run.job, day=run.day, status=run.status, attempts=run.attempts,
        started_at=run.started_at.astimezone(tz),
        finished_at=ended.astimezone(tz) if ended is not None else None,
        duration_s=(ended - run.started_at).total_seconds() if ended is not None else None,
        counts=dict(run.counts),
        counts_cover="last_attempt" if run.attempts > 1 else "run",
        running_long=run.status is JobStatus.RUNNING and now - run.started_at > LONG_RUN,
        last_error=redact(run.last_error) if run.last_error is not None else None,
    )  # fmt: skip


async def list_job_runs(call: Call) -> JobRunsOut:
    query = call.query_as(JobRunsQuery)
    settings = call.deps.settings
    now = call.now.astimezone(settings.tz)
    first = now.date() - timedelta(days=query.days - 1)
    runs = await runs_since(first, query.job)
    began = await first_run_day()
    schedule = []
    for job, trigger in daily_jobs(call.deps.programme, settings.tz):
        if query.job not in (None, job):
            continue
        ran = {r.day for r in runs if r.job == job}
        missed = (
            [] if began is None else missed_days(trigger, ran, max(first, began), now, MISSED_AFTER)
        )
        due = trigger.get_next_fire_time(None, now)
        schedule.append(ScheduledJobOut(job=job, next_due=due, missed_days=missed))
    redact = Redactor(secret_values(settings))
    return JobRunsOut(
        first_day=first, last_day=now.date(), time_zone=settings.club_tz,
        long_run_s=int(LONG_RUN.total_seconds()), first_run_day=began, schedule=schedule,
        runs=[_run_out(r, now, redact) for r in runs],
    )  # fmt: skip


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
            "first, each with its status, attempts, times, counts and error; and for each job "
            "on the schedule when it is next due and the days it was due but never ran. "
            + COUNTS_NOTE
        ),
        permission=Permission.READ_JOBS,
        query=JobRunsQuery,
        response=JobRunsOut,
    ),
]
