"""The scheduler's record of its runs (`job_run`), as staff read it: which job ran for which
day, how it ended and what it did. A read model: rows shaped for the answer, nothing changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from club.db.models.jobs import JobRun, JobStatus

__all__ = ["JobRunView", "JobStatus", "first_run_day", "runs_since"]


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
    )  # fmt: skip


async def first_run_day() -> date | None:
    """The day of the earliest run recorded, of any job: before it the scheduler never ran on
    this database (a new club), so no day before it counts as missed."""
    first = await JobRun.all().order_by("day").first()
    return first.day if first is not None else None
