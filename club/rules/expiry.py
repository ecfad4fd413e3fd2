"""When earned points expire.

`expiry_date` is the last day the points are valid (what members read); `expires_at` is the first
instant they are gone, midnight after that day in the club's time zone (what the job compares).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from club.rules.programme import ExpiryKind, ExpiryRule


def expiry_date(earned_at: datetime, rule: ExpiryRule) -> date:
    """The last valid day for points earned at `earned_at` (aware, club time zone)."""
    if earned_at.tzinfo is None:
        raise ValueError("earned_at must be aware")
    earned_on = earned_at.date()
    if rule.kind is ExpiryKind.END_OF_NEXT_YEAR:
        return date(earned_on.year + 1, 12, 31)
    if rule.days is None:
        raise ValueError("a rolling_days rule needs days")
    return earned_on + timedelta(days=rule.days)


def expires_at(earned_at: datetime, rule: ExpiryRule) -> datetime:
    """Midnight after the last valid day, in the time zone of `earned_at`."""
    last_day = expiry_date(earned_at, rule)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=earned_at.tzinfo)


def last_valid_day(expires: datetime) -> date:
    """The day shown to members for a lot expiring at `expires` (its own time zone)."""
    return (expires - timedelta(microseconds=1)).date()
