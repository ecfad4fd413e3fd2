"""A few days of job runs, made by running the real jobs through the runner, as staff would find
them on 23 November 2026 at 09:00 (the demo programme: greetings at 10:00, expiry at 03:00, the
tier review on the 1st, rankings, values and churn between 01:30 and 02:30):

- 20 November: every job on the schedule ran on time;
- 21 November: nothing ran on time (the scheduler was down from the 20th until 02:10 on the
  22nd);
- 22 November, 02:10: the scheduler's start-up catch-up ran what it makes up: the 21st's
  expiry and churn scan (their latest runs due) and the 22nd's rankings (due at 01:30 that
  day) and value refresh (due at 02:00), whose process was killed half-way and nobody resumed
  it (a past day's run is resumed by no sweep); the 21st's greetings and rankings are never
  made up. The churn scan of 02:30 failed and stayed failed; the birthday run of 10:00 failed
  and was run again by hand (2 attempts); the automations were run by hand;
- 23 November: the night's jobs ran on time; the greetings are due at 10:00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise.exceptions import OperationalError

import club.greetings.service as greetings
import club.value.churn as churn
from club.clock import FixedClock
from club.db.models.jobs import JobRun
from club.db.models.members import Member, MemberStatus
from club.job_runs import RunStarter
from scheduler.app import Runtime
from scheduler.runner import Outcome

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
SCHEDULED = ("birthday", "festival", "expire-points", "rank-ahead", "value-refresh", "churn-scan")
MISSED = date(2026, 11, 21)
PHONE = "13812345678"
PASSWORD = "s3cret-dsn-pass"
CHURN_ERROR = (
    f"invalid input for query argument $1: '{PHONE}' (expected int) on "
    f"postgres://club:{PASSWORD}@db.internal:5432/club"
)
"""What a failing database call can say: asyncpg's DataError quotes the argument it refused (a
phone number here), and a connection error may name its DSN."""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


async def run(
    rt: Runtime,
    clock: FixedClock,
    job: str,
    when: datetime,
    by: RunStarter = RunStarter.SCHEDULE,
    day: date | None = None,
) -> Outcome:
    clock.set(when)
    return (await rt.run_job(job, day or when.date(), by=by)).outcome


def fails(exc: Exception) -> object:
    async def failing(*args: object, **kwargs: object) -> object:
        raise exc

    return failing


async def make_history(rt: Runtime, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    born = at(22, 0)
    await Member.create(
        openid="oJobsBirthday01", status=MemberStatus.ACTIVE, consent_at=born - timedelta(days=400),
        joined_at=born - timedelta(days=400), tier="taste", birthday_mmdd=1122,
    )  # fmt: skip
    for job in SCHEDULED:
        assert await run(rt, clock, job, at(20, 11)) is Outcome.DONE

    # The scheduler back at 02:10 on the 22nd: its catch-up (scheduler.app.catch_up's choices).
    back = at(22, 2, 10)
    for job in ("expire-points", "churn-scan"):
        assert await run(rt, clock, job, back, RunStarter.CATCH_UP, MISSED) is Outcome.DONE
    assert await run(rt, clock, "rank-ahead", back, RunStarter.CATCH_UP) is Outcome.DONE
    # What a SIGKILL leaves (tests/scheduler/test_resume.py): the record RUNNING, no lock.
    await JobRun.create(
        job="value-refresh", day=date(2026, 11, 22), started_at=back,
        started_by=RunStarter.CATCH_UP,
    )  # fmt: skip
    with monkeypatch.context() as patched:
        patched.setattr(churn, "record_dormant", fails(OperationalError(CHURN_ERROR)))
        assert await run(rt, clock, "churn-scan", at(22, 2, 30)) is Outcome.FAILED
    assert await run(rt, clock, "expire-points", at(22, 3)) is Outcome.DONE
    with monkeypatch.context() as patched:
        patched.setattr(greetings, "existing_keys", fails(ConnectionError("connection lost")))
        assert await run(rt, clock, "birthday", at(22, 10)) is Outcome.FAILED
    assert await run(rt, clock, "festival", at(22, 10)) is Outcome.DONE
    assert await run(rt, clock, "birthday", at(22, 10, 5), RunStarter.HAND) is Outcome.DONE
    assert await run(rt, clock, "automations", at(22, 12), RunStarter.HAND) is Outcome.DONE

    for job, when in (
        ("rank-ahead", at(23, 1, 30)),
        ("value-refresh", at(23, 2)),
        ("churn-scan", at(23, 2, 30)),
        ("expire-points", at(23, 3)),
    ):
        assert await run(rt, clock, job, when) is Outcome.DONE
    clock.set(NOW)
