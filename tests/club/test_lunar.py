"""Yearly dates: the birthday rules on known dates, and borax checked against lunar-python."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from lunar_python import Lunar, Solar

from club.greetings.lunar import (
    InvalidYearlyDate,
    YearlyDate,
    falls_on,
    leap_month,
    lunar_keys_on,
    occurrence,
    occurrence_year,
    solar_keys_on,
    to_lunar,
    to_solar,
)

FESTIVALS = {
    "元旦": YearlyDate.solar(1, 1),
    "春节": YearlyDate.lunar(1, 1),
    "元宵": YearlyDate.lunar(1, 15),
    "端午": YearlyDate.lunar(5, 5),
    "七夕": YearlyDate.lunar(7, 7),
    "中秋": YearlyDate.lunar(8, 15),
    "重阳": YearlyDate.lunar(9, 9),
    "国庆": YearlyDate.solar(10, 1),
}
YEARS = range(2024, 2036)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the rules on known dates ---------------------------------------------------------------


def test_29_february_greets_on_28_february_in_common_years() -> None:
    leapling = YearlyDate.solar(2, 29)
    assert occurrence(leapling, 2026) == date(2026, 2, 28)
    assert occurrence(leapling, 2028) == date(2028, 2, 29)
    assert falls_on(leapling, date(2026, 2, 28))
    assert not falls_on(leapling, date(2026, 3, 1))
    assert not falls_on(leapling, date(2028, 2, 28))
    assert solar_keys_on(date(2026, 2, 28)) == [228, 229]
    assert solar_keys_on(date(2028, 2, 28)) == [228]
    assert solar_keys_on(date(2028, 2, 29)) == [229]


def test_lunar_30th_in_a_29_day_month_greets_on_the_29th() -> None:
    # 腊月 of lunar 2024 has 29 days: 除夕 was 2025-01-28.
    born_30th = YearlyDate.lunar(12, 30)
    assert occurrence(born_30th, 2024) == date(2025, 1, 28)
    assert falls_on(born_30th, date(2025, 1, 28))
    assert (12, 30, False) in lunar_keys_on(date(2025, 1, 28))
    # Lunar 2025's eighth month has 29 days, its eleventh 30: the 30th is kept where it exists.
    assert occurrence(YearlyDate.lunar(11, 30), 2025) == to_solar(2025, 11, 30)
    with pytest.raises(InvalidYearlyDate):
        to_solar(2024, 12, 30)


def test_leap_month_birthday_uses_the_leap_month_only_in_years_that_have_it() -> None:
    assert leap_month(2025) == 6
    assert leap_month(2026) == 0
    born_leap_6 = YearlyDate.lunar(6, 10, leap=True)
    # 2025 has 闰六月 (it began 2025-07-25): greet there, not in the ordinary sixth month.
    assert occurrence(born_leap_6, 2025) == date(2025, 8, 3)
    assert falls_on(born_leap_6, date(2025, 8, 3))
    assert not falls_on(born_leap_6, to_solar(2025, 6, 10))
    # 2026 has no 闰六月: greet in the ordinary sixth month, with the ordinary birthdays.
    ordinary = to_solar(2026, 6, 10)
    assert occurrence(born_leap_6, 2026) == ordinary
    assert set(lunar_keys_on(ordinary)) == {(6, 10, False), (6, 10, True)}
    # And an ordinary-month birthday never greets in the leap month.
    assert lunar_keys_on(date(2025, 8, 3)) == [(6, 10, True)]


def test_the_three_rules_together_on_a_29_day_leap_month() -> None:
    # 闰六月 2025 has 29 days: a member born 闰六月三十 greets on its 29th.
    last = to_solar(2025, 6, 29, leap=True)
    assert occurrence(YearlyDate.lunar(6, 30, leap=True), 2025) == last
    assert set(lunar_keys_on(last)) == {(6, 29, True), (6, 30, True)}


def test_occurrence_year_is_the_lunar_year_for_lunar_dates() -> None:
    assert occurrence_year(YearlyDate.lunar(12, 20), date(2026, 2, 7)) == 2025
    assert occurrence_year(YearlyDate.solar(2, 7), date(2026, 2, 7)) == 2026


def test_impossible_dates_are_refused() -> None:
    for bad in ((13, 1), (4, 31), (2, 30)):
        with pytest.raises(InvalidYearlyDate):
            YearlyDate.solar(*bad)
    with pytest.raises(InvalidYearlyDate):
        YearlyDate.lunar(1, 31)
    with pytest.raises(InvalidYearlyDate):
        YearlyDate(YearlyDate.solar(1, 1).calendar, 1, 1, leap=True)


# --- every lunar birthday greets exactly once a lunar year -----------------------------------


def test_each_lunar_birthday_greets_once_per_lunar_year_2024_2035() -> None:
    first, last = to_solar(2024, 1, 1), to_solar(2036, 1, 1) - timedelta(days=1)
    seen: Counter[tuple[int, int, int, bool]] = Counter()
    for day in _days(first, last):
        year = to_lunar(day).year
        for month, dd, leap in lunar_keys_on(day):
            seen[(year, month, dd, leap)] += 1
            assert occurrence(YearlyDate.lunar(month, dd, leap=leap), year) == day
    expected = {
        (year, month, dd, leap)
        for year in YEARS
        for month in range(1, 13)
        for dd in range(1, 31)
        for leap in (False, True)
    }
    assert set(seen) == expected
    assert set(seen.values()) == {1}


# --- cross-check against lunar-python ---------------------------------------------------------


@pytest.mark.parametrize("year", YEARS)
def test_festival_dates_equal_lunar_python(year: int) -> None:
    for name, yearly in FESTIVALS.items():
        ours = occurrence(yearly, year)
        if yearly.calendar == "solar":
            theirs = date(year, yearly.month, yearly.day)
        else:
            ymd = Lunar.fromYmd(year, yearly.month, yearly.day).getSolar().toYmd()
            theirs = date.fromisoformat(ymd)
        assert ours == theirs, name
        assert falls_on(yearly, ours)


def test_known_festival_dates() -> None:
    assert occurrence(FESTIVALS["春节"], 2026) == date(2026, 2, 17)
    assert occurrence(FESTIVALS["中秋"], 2026) == date(2026, 9, 25)


def test_days_2024_2035_convert_like_lunar_python() -> None:
    # Every fifth day (lunar-python is slow); 5 and month lengths share no factor, so every
    # position in a lunar month is visited many times.
    for day in _days(date(2024, 1, 1), date(2035, 12, 31))[::5]:
        theirs = Solar.fromYmd(day.year, day.month, day.day).getLunar()
        ours = to_lunar(day)
        assert (ours.year, ours.month if not ours.leap else -ours.month, ours.day) == (
            theirs.getYear(),
            theirs.getMonth(),
            theirs.getDay(),
        ), day


def test_leap_months_agree() -> None:
    assert {y: leap_month(y) for y in (2025, 2028, 2031, 2033)} == {
        2025: 6,
        2028: 5,
        2031: 3,
        2033: 11,
    }
