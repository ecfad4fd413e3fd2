"""Solar and lunar yearly dates: birthdays and festivals, and on which day they are greeted.

Pure: the standard library and borax (a calendar table, no I/O). borax is strict (an invalid
lunar date raises), which is why the rules for dates a year does not have live here:

- 29 February greets on 28 February in common years.
- A lunar 30th in a 29-day month greets on the 29th (the month's last day).
- A leap-month birthday greets in the leap month only in years that have that leap month, else
  in the ordinary month of the same number.

A lunar yearly date recurs once per lunar year; the lunar year is the "year" of its occurrence
(a birthday in the twelfth lunar month falls in January or February of the next solar year).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from borax.calendars.lunardate import LCalendars, LunarDate

T = TypeVar("T")


class CalendarKind(StrEnum):
    SOLAR = "solar"
    LUNAR = "lunar"


class InvalidYearlyDate(ValueError):
    """A month or day that no year has (13th month, 31 April, lunar 31st)."""


_SOLAR_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class YearlyDate:
    """A date that comes back every year: a birthday or a festival."""

    calendar: CalendarKind
    month: int
    day: int
    leap: bool = False
    """Lunar only: the date is in the leap month of that number."""

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidYearlyDate(f"month {self.month} is not 1-12")
        if self.calendar is CalendarKind.SOLAR:
            if self.leap:
                raise InvalidYearlyDate("a solar date has no leap month")
            if not 1 <= self.day <= _SOLAR_MONTH_DAYS[self.month - 1]:
                raise InvalidYearlyDate(f"day {self.day} is not in solar month {self.month}")
        elif not 1 <= self.day <= 30:
            raise InvalidYearlyDate(f"day {self.day} is not 1-30 in a lunar month")

    @classmethod
    def solar(cls, month: int, day: int) -> YearlyDate:
        return cls(CalendarKind.SOLAR, month, day)

    @classmethod
    def lunar(cls, month: int, day: int, *, leap: bool = False) -> YearlyDate:
        return cls(CalendarKind.LUNAR, month, day, leap)


@dataclass(frozen=True)
class LunarDay:
    """A day of the lunar calendar."""

    year: int
    month: int
    day: int
    leap: bool


def to_lunar(day: date) -> LunarDay:
    lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
    return LunarDay(lunar.year, lunar.month, lunar.day, bool(lunar.leap))


def to_solar(year: int, month: int, day: int, *, leap: bool = False) -> date:
    """Strict conversion: raises InvalidYearlyDate when that lunar day does not exist."""
    try:
        solar: date = LunarDate(year, month, day, int(leap)).to_solar_date()
    except ValueError as exc:  # borax's InvalidLunarDateError is a ValueError
        raise InvalidYearlyDate(str(exc)) from None
    return solar


def leap_month(lunar_year: int) -> int:
    """The leap month of a lunar year, 0 when it has none."""
    return int(LCalendars.leap_month(lunar_year))


def month_days(lunar_year: int, month: int, *, leap: bool = False) -> int:
    return int(LCalendars.ndays(lunar_year, month, int(leap)))


def occurrence(yearly: YearlyDate, year: int) -> date:
    """The solar day on which `yearly` is greeted in `year` (solar or lunar year, by calendar)."""
    if yearly.calendar is CalendarKind.SOLAR:
        if yearly.month == 2 and yearly.day == 29 and not _is_leap_year(year):
            return date(year, 2, 28)
        return date(year, yearly.month, yearly.day)
    leap = yearly.leap and leap_month(year) == yearly.month
    day = min(yearly.day, month_days(year, yearly.month, leap=leap))
    return to_solar(year, yearly.month, day, leap=leap)


def lunar_keys_on(day: date) -> list[tuple[int, int, bool]]:
    """Every lunar (month, day, leap) birthday greeted on `day`, by the three rules.

    The inverse of `occurrence` for lunar dates: the birthday lookup asks the index for exactly
    these keys instead of converting every member's birthday.
    """
    today = to_lunar(day)
    last_day = today.day == month_days(today.year, today.month, leap=today.leap)
    days = [today.day, 30] if last_day and today.day == 29 else [today.day]
    if today.leap:
        return [(today.month, d, True) for d in days]
    keys = [(today.month, d, False) for d in days]
    if leap_month(today.year) != today.month:
        # No leap month of this number this year: its birthdays greet in the ordinary month.
        keys += [(today.month, d, True) for d in days]
    return keys


def solar_keys_on(day: date) -> list[int]:
    """Every solar birthday (month*100 + day) greeted on `day`.

    29 February joins 28 February in common years.
    """
    keys = [day.month * 100 + day.day]
    if day.month == 2 and day.day == 28 and not _is_leap_year(day.year):
        keys.append(229)
    return keys


def falls_on(yearly: YearlyDate, day: date) -> bool:
    if yearly.calendar is CalendarKind.SOLAR:
        return yearly.month * 100 + yearly.day in solar_keys_on(day)
    return (yearly.month, yearly.day, yearly.leap) in lunar_keys_on(day)


def occurrence_year(yearly: YearlyDate, day: date) -> int:
    """The year (solar or lunar, by calendar) of the occurrence greeted on `day`."""
    return day.year if yearly.calendar is CalendarKind.SOLAR else to_lunar(day).year


def on_day(items: Iterable[tuple[YearlyDate, T]], day: date) -> list[T]:
    """The items whose yearly date is greeted on `day` (festivals of the day, in order)."""
    return [item for yearly, item in items if falls_on(yearly, day)]


def _is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
