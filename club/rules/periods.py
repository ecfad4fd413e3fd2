"""The report periods staff reach for by name: last month, last quarter, the year so far, last
year. The console offers them beside its date fields, and the nightly `rank-ahead` job ranks the
programme's choice of them before anyone asks (`club.reports.ahead`), so that their 80/20 reports
answer at once instead of ranking millions of purchases at the first ask.

Calendar months, quarters and years in the club's zone; `today` is the club's day.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class Preset(StrEnum):
    LAST_MONTH = "last_month"
    LAST_QUARTER = "last_quarter"
    YEAR_TO_DATE = "year_to_date"
    LAST_YEAR = "last_year"


def preset_period(preset: Preset, today: date) -> tuple[date, date]:
    """The first and last day of `preset` as seen on `today`."""
    if preset is Preset.LAST_MONTH:
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset is Preset.LAST_QUARTER:
        quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        last = quarter_start - timedelta(days=1)
        return last.replace(month=(last.month - 1) // 3 * 3 + 1, day=1), last
    if preset is Preset.YEAR_TO_DATE:
        return today.replace(month=1, day=1), today
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def parse_presets(names: object, key: str) -> tuple[Preset, ...]:
    """A programme's list of preset names, each once; ValueError naming `key` otherwise."""
    known = ", ".join(p.value for p in Preset)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{key}: expected a list of period names ({known})")
    unknown = [n for n in names if n not in {p.value for p in Preset}]
    if unknown:
        raise ValueError(f"{key}: {unknown[0]!r} is not a period name (known: {known})")
    if len(set(names)) != len(names):
        raise ValueError(f"{key}: a period is named twice")
    return tuple(Preset(n) for n in names)
