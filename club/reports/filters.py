"""What every report can be narrowed to: a channel level, a store, a period.

Built from what staff typed; a bad value raises `ReportError` naming the field, before any
query runs. Days are the club's calendar days, `start` and `end` both included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from club.rules.channels import ChannelLevel

MAX_DAYS = 366 * 5
"""A report period of at most five years: longer ones are a mistake, not a question."""


class ReportError(ValueError):
    """A report was asked for with bad parameters; `field` names the one at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class ReportFilter:
    start_day: date
    end_day: date
    """Both included."""
    start: datetime
    end: datetime
    """The period as times: `start` included, `end` (the day after `end_day`) excluded."""
    today: date
    """The club day the report is asked on (what a kept ranking must be as of)."""
    level: ChannelLevel | None = None
    store: str | None = None
    period_given: bool = False
    """Staff named a period (not the default one): reports over stored values then keep only
    the members who bought in it."""

    @property
    def narrowed(self) -> bool:
        """Only some members' purchases count: a level, a store or a period was asked for."""
        return self.period_given or self.level is not None or self.store is not None

    @property
    def middle(self) -> datetime:
        """Where the period's later half begins (trends compare the two halves)."""
        return self.start + (self.end - self.start) / 2

    def describe(self) -> dict[str, object]:
        return {
            "from": self.start_day.isoformat(),
            "to": self.end_day.isoformat(),
            "level": self.level.value if self.level else None,
            "store": self.store,
        }


def parse_level(value: str | None) -> ChannelLevel | None:
    if value is None or value == "":
        return None
    try:
        return ChannelLevel(value)
    except ValueError:
        known = ", ".join(level.value for level in ChannelLevel)
        raise ReportError("level", f"unknown channel level {value!r} (known: {known})") from None


def build_filter(
    *,
    today: date,
    tz: tzinfo,
    months: int,
    start: date | None = None,
    end: date | None = None,
    level: str | ChannelLevel | None = None,
    store: str | None = None,
) -> ReportFilter:
    """The filter staff asked for; the period defaults to the `months` months up to today."""
    end_day = end or today
    start_day = start or _months_before(end_day, months) + timedelta(days=1)
    if end_day < start_day:
        raise ReportError("to", f"the period ends ({end_day}) before it starts ({start_day})")
    if (end_day - start_day).days > MAX_DAYS:
        raise ReportError("from", f"the period is longer than {MAX_DAYS} days")
    if store is not None and not 1 <= len(store) <= 32:
        raise ReportError("store", "a store id is 1..32 characters")
    return ReportFilter(
        start_day=start_day,
        end_day=end_day,
        start=datetime.combine(start_day, time(), tz),
        end=datetime.combine(end_day + timedelta(days=1), time(), tz),
        today=today,
        level=parse_level(level) if not isinstance(level, ChannelLevel) else level,
        store=store or None,
        period_given=start is not None or end is not None,
    )


def _months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day when it has no such day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")
