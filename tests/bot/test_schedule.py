"""The schedule's time logic, pure: which days a job was due and has no run, with aware times."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.schedule import fire_times, missed_days

TZ = ZoneInfo("Asia/Shanghai")
GRACE = timedelta(minutes=10)
DAILY = CronTrigger(hour=10, minute=0, timezone=TZ)
MONTHLY = CronTrigger(day=1, hour=4, minute=0, timezone=TZ)


def d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


def at(hour: int, minute: int = 0) -> datetime:
    """23 November 2026, the day staff look, in the club's zone."""
    return datetime(2026, 11, 23, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("trigger", "ran", "first", "now", "missed"),
    [
        # Today's 10:00 is within the grace: not missed yet; past days without a run are.
        (DAILY, set(), d(20), at(10, 5), [d(22), d(21), d(20)]),
        (DAILY, set(), d(20), at(10, 11), [d(23), d(22), d(21), d(20)]),
        (DAILY, {d(20), d(22)}, d(20), at(9), [d(21)]),
        (DAILY, set(), d(23), at(9), []),
        # A monthly job is due on its day only; the 1st of a month before `first` is not asked.
        (MONTHLY, set(), d(25, 10), at(9), [d(1)]),
        (MONTHLY, {d(1)}, d(25, 10), at(9), []),
        (MONTHLY, set(), d(2), at(9), []),
    ],
)
def test_missed_days(
    trigger: CronTrigger, ran: set[date], first: date, now: datetime, missed: list[date]
) -> None:
    assert missed_days(trigger, ran, first, now, GRACE) == missed


def test_fire_times_pass_the_hour_a_clock_goes_back_in() -> None:
    """A job at 01:30 in Europe/London on the night clocks go back (25 October 2026): the
    look-back of the start-up catch-up and of the jobs page lists it and goes on to the next
    days (it hung inside APScheduler, and the scheduler with it, before any job ran)."""
    tz = ZoneInfo("Europe/London")
    trigger = CronTrigger(hour=1, minute=30, timezone=tz)
    start, end = datetime(2026, 10, 20, tzinfo=tz), datetime(2026, 10, 30, tzinfo=tz)
    found: list[list[datetime]] = []
    # In a daemon thread: were it to hang again, the test fails instead of the suite hanging.
    looking = threading.Thread(target=lambda: found.append(fire_times(trigger, start, end)))
    looking.daemon = True
    looking.start()
    looking.join(timeout=10)
    assert found, "fire_times did not return"
    fired = found[0]
    assert sorted({f.date() for f in fired}) == [date(2026, 10, d) for d in range(20, 30)]
    assert [f.utcoffset() for f in fired if f.date() == date(2026, 10, 25)] == [
        timedelta(hours=1),
        timedelta(0),
    ]  # the repeated half hour fires at both of its instants; a job runs once a day anyway
    ran = {date(2026, 10, d) for d in range(20, 30)} - {date(2026, 10, 25)}
    now = datetime(2026, 10, 29, 12, tzinfo=tz)
    assert missed_days(trigger, ran, date(2026, 10, 20), now, timedelta(minutes=10)) == [
        date(2026, 10, 25)
    ]
