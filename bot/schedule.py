"""The scheduler's jobs and when each is due: the one definition of the schedule.

The scheduler (`scheduler.app`) runs these triggers and catches up as `CATCH_UP` says; the staff
API reads the same ones to say when a job is next due, which day it missed and whether a later
run made that day up. It lives here, below both, because the layers let the transport import no
scheduler module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from apscheduler.triggers.cron import CronTrigger

from club.programme import Programme

JOBS = (
    "birthday",
    "festival",
    "expire-points",
    "tier-review",
    "rank-ahead",
    "value-refresh",
    "churn-scan",
    "automations",
)
"""Every job `python -m scheduler run` takes; all but `automations` are on the schedule (the
scheduler's half-minute tick starts each automation at its own time; the job is for a run by
hand)."""

EXPIRY_TIME = time(3, 0)
TIER_REVIEW_TIME = time(4, 0)
RANK_AHEAD_TIME = time(1, 30)
VALUE_TIME = time(2, 0)
CHURN_TIME = time(2, 30)


class CatchUp(StrEnum):
    TODAY = "today"
    """Only today's run, once its time has passed: a missed day is never replayed."""
    LATEST = "latest"
    """The latest run that was due, on any day, unless a run finished since the one before it."""


CATCH_UP = {
    # A greeting for a past day does harm (a festival wish after the festival): never replayed.
    "birthday": CatchUp.TODAY,
    "festival": CatchUp.TODAY,
    # Expiry takes every lot past its date as of now, and reminds of everything expiring within
    # reminder_days of now (one row per member and expiry day): the latest run covers every
    # missed day, so no earlier day is replayed.
    "expire-points": CatchUp.LATEST,
    # Monthly: a scheduler down on the review day would otherwise skip a whole month.
    "tier-review": CatchUp.LATEST,
    # Each run computes values and churn flags as of now: the latest covers every missed day.
    "value-refresh": CatchUp.LATEST,
    "churn-scan": CatchUp.LATEST,
    # Ranks today's periods: the latest run is today's; a missed earlier day's are of no use.
    "rank-ahead": CatchUp.TODAY,
}
"""How the scheduler's start-up catch-up makes up each job on the schedule (`scheduler.app`)."""


def covers_earlier_days(job: str) -> bool:
    """Whether a run of the job does the work of the days before it that had none (or whose
    run failed): so a later run that finished makes those days up."""
    return CATCH_UP.get(job) is CatchUp.LATEST


def daily_jobs(programme: Programme, tz: tzinfo) -> list[tuple[str, CronTrigger]]:
    send = programme.birthday.send_time
    review = programme.tier_review.day_of_month
    at_send = {"hour": send.hour, "minute": send.minute, "timezone": tz}
    return [
        ("birthday", CronTrigger(**at_send)),
        ("festival", CronTrigger(**at_send)),
        ("expire-points", CronTrigger(hour=EXPIRY_TIME.hour, minute=0, timezone=tz)),
        ("tier-review", CronTrigger(day=review, hour=TIER_REVIEW_TIME.hour, minute=0, timezone=tz)),
        # At night: the report periods staff will ask for, ranked before the refresh drops
        # yesterday's rankings (it reads which periods were asked); then values and the churn
        # list, before the day's campaigns and automations read classes and churn risk.
        (
            "rank-ahead",
            CronTrigger(hour=RANK_AHEAD_TIME.hour, minute=RANK_AHEAD_TIME.minute, timezone=tz),
        ),
        ("value-refresh", CronTrigger(hour=VALUE_TIME.hour, minute=VALUE_TIME.minute, timezone=tz)),
        ("churn-scan", CronTrigger(hour=CHURN_TIME.hour, minute=CHURN_TIME.minute, timezone=tz)),
    ]


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """The trigger's fire times from `start` to `end` (both included), oldest first."""
    fires: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        fires.append(fire)
        # A second later in absolute time, not on the wall clock: where clocks go back, the
        # wall clock's `fire + 1 s` falls in the repeated hour's first pass, before `fire`, and
        # APScheduler 3.11.3's CronTrigger gives the same run back, for ever (a job at 01:30 in
        # Europe/London, 25 October 2026; agronholm/apscheduler#1021). So the time in the
        # repeated hour fires twice (each a real instant; a job runs once a day whatever fires).
        after = (fire.astimezone(UTC) + timedelta(seconds=1)).astimezone(fire.tzinfo)
        fire = trigger.get_next_fire_time(fire, after)
    return fires


def due_times(trigger: CronTrigger, first: date, end: datetime) -> dict[date, datetime]:
    """When the trigger was due on each day from `first` to `end`: its first fire time that
    day (a day it is not due is absent)."""
    start = datetime.combine(first, time(0), tzinfo=end.tzinfo)
    due: dict[date, datetime] = {}
    for fire in fire_times(trigger, start, end):
        due.setdefault(fire.date(), fire)
    return due


def missed_days(
    trigger: CronTrigger, ran: set[date], first: date, now: datetime, grace: timedelta
) -> list[date]:
    """The days from `first` on when the trigger fired more than `grace` before `now` and no
    run of the job was recorded (`ran`: the days it has a run for), newest first."""
    start = datetime.combine(first, time(0), tzinfo=now.tzinfo)
    fired = fire_times(trigger, start, now - grace)
    return sorted({f.date() for f in fired} - ran, reverse=True)
