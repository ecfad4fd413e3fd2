"""The scheduler's record of its runs (`job_run`), as staff read it: which job ran for which
day, how it ended, what it did, and whether the day's work was done on time, made up later or
not at all. A read model: rows shaped for the answer, nothing changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from club.db.models.jobs import JobRun, JobStatus, RunStarter

__all__ = [
    "DayTiming",
    "JobRunView",
    "JobStatus",
    "MadeUp",
    "RunStarter",
    "Timing",
    "first_run_day",
    "missed_day_timing",
    "run_timing",
    "runs_since",
]


@dataclass(frozen=True)
class JobRunView:
    job: str
    day: date
    status: JobStatus
    attempts: int
    started_at: datetime
    """When the last attempt started (the runner stamps each attempt anew)."""
    finished_at: datetime | None
    counts: Mapping[str, int]
    """What the last attempt that finished did: the runner keeps no sum over attempts."""
    last_error: str | None
    started_by: RunStarter | None
    """What started the last attempt (a resume by the scheduler's sweep keeps who started the
    run); None: recorded before this was kept."""


async def runs_since(first: date, job: str | None = None) -> list[JobRunView]:
    """The runs for `first` and the days after, newest first (by day, then start)."""
    query = JobRun.filter(day__gte=first)
    if job is not None:
        query = query.filter(job=job)
    return [_view(r) for r in await query.order_by("-day", "-started_at", "job")]


def _view(r: JobRun) -> JobRunView:
    return JobRunView(
        job=r.job, day=r.day, status=r.status, attempts=r.attempts, started_at=r.started_at,
        finished_at=r.finished_at, counts=dict(r.counts), last_error=r.last_error,
        started_by=r.started_by,
    )  # fmt: skip


async def first_run_day() -> date | None:
    """The day of the earliest run recorded, of any job: before it the scheduler never ran on
    this database (a new club), so no day before it counts as missed."""
    first = await JobRun.all().order_by("day").first()
    return first.day if first is not None else None


class Timing(StrEnum):
    """Whether a day's work was done on time, made up later, or not (yet)."""

    ON_TIME = "on_time"
    """Its run finished, started by the scheduler at the job's time."""
    MADE_UP = "made_up"
    """Done later than its time: by its own run (the start-up catch-up's, or one by hand), or by
    a later day's run of a job whose runs do the earlier days' work (`MadeUp`)."""
    NOT_MADE_UP = "not_made_up"
    """No run finished for it: missed, failed or left unfinished, and nothing made it up."""
    RUNNING = "running"
    """Its run is running now (not yet over the page's long-run mark)."""
    BY_HAND = "by_hand"
    """Run by hand when it was not due: a job off the schedule, or before its time that day."""
    NOT_RECORDED = "not_recorded"
    """Its run finished, but what started it was not recorded (a run before that was kept)."""


@dataclass(frozen=True)
class MadeUp:
    by: RunStarter | None
    """What started the run that made the day up (None: not recorded)."""
    at: datetime
    """When that run finished."""
    run_day: date
    """The day of that run: the day's own, or a later day's whose run covers it."""


@dataclass(frozen=True)
class DayTiming:
    timing: Timing
    made_up: MadeUp | None = None


def run_timing(
    run: JobRunView,
    runs: Sequence[JobRunView],
    *,
    due: datetime | None,
    covers: bool,
    running_long: bool,
) -> DayTiming:
    """The timing of `run`'s day. `runs`: the job's runs (any order; later days' may make this
    one up); `due`: when the job was due that day (None: not due, or not yet); `covers`: whether
    a run of the job does the work of the days before it (`bot.schedule.covers_earlier_days`)."""
    if run.status is JobStatus.DONE:
        if run.started_by is None:
            return DayTiming(Timing.NOT_RECORDED)
        if run.started_by is RunStarter.SCHEDULE:
            return DayTiming(Timing.ON_TIME)
        if run.started_by is RunStarter.HAND and (due is None or run.started_at < due):
            return DayTiming(Timing.BY_HAND)  # nothing was missing yet
        return _made_up_by(run)
    later = _covering_run(run.day, runs) if covers else None
    if later is not None:
        return _made_up_by(later)
    if run.status is JobStatus.RUNNING and not running_long:
        return DayTiming(Timing.RUNNING)
    return DayTiming(Timing.NOT_MADE_UP)


def missed_day_timing(day: date, runs: Sequence[JobRunView], *, covers: bool) -> DayTiming:
    """The timing of a day the job was due and has no run of its own."""
    later = _covering_run(day, runs) if covers else None
    return _made_up_by(later) if later is not None else DayTiming(Timing.NOT_MADE_UP)


def _covering_run(day: date, runs: Sequence[JobRunView]) -> JobRunView | None:
    """The first run after `day` that finished: it did `day`'s work too."""
    done = [r for r in runs if r.day > day and r.status is JobStatus.DONE]
    return min(done, key=lambda r: r.day, default=None)


def _made_up_by(run: JobRunView) -> DayTiming:
    assert run.finished_at is not None  # the runner stamps every run it finishes
    return DayTiming(Timing.MADE_UP, MadeUp(run.started_by, run.finished_at, run.day))
