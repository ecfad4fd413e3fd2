"""Scheduled job runs: one row per (job, day), so each run of each job happens once.

The Redis lock keeps two schedulers from running the same (job, day) at the same time — this row
says whether it already finished. A run killed half-way stays `running` and is resumed by the
next attempt (its effects are idempotent, so the rest is done and nothing twice).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RunStarter(StrEnum):
    """What started a run's attempt: the jobs page tells a run on time from one made up later."""

    SCHEDULE = "schedule"
    """The scheduler, at the job's time."""
    CATCH_UP = "catch_up"
    """A scheduler's start-up catch-up: a run it missed while down, or one that failed."""
    HAND = "hand"
    """`python -m scheduler run`."""


class JobRun(Model):
    id = fields.BigIntField(primary_key=True)
    job = fields.CharField(max_length=32)
    day = fields.DateField()
    status = fields.CharEnumField(JobStatus, max_length=16, default=JobStatus.RUNNING)
    attempts = fields.IntField(default=1)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    counts: Any = fields.JSONField(default=dict)
    """What the run did: {"found": 2700, "queued": 2650, "skipped": 50, ...}."""
    last_error = fields.CharField(max_length=255, null=True)
    started_by = fields.CharEnumField(RunStarter, max_length=16, null=True)
    """What started the last attempt (stamped with `started_at`), except that the scheduler's
    sweep resuming a killed run keeps who started it. Null: recorded before it was kept."""

    class Meta:
        table = "job_run"
        unique_together = (("job", "day"),)

    def __str__(self) -> str:
        return f"{self.job} {self.day} {self.status}"
