"""The schedule's time logic, pure: which days a job was due and has no run, with aware times."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.schedule import missed_days

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
