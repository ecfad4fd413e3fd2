"""Birthdays as typed in chat."""

from __future__ import annotations

from datetime import date

import pytest

from club.members.birthday_text import (
    BirthdayError,
    BirthdayProblem,
    LunarBirthday,
    SolarBirthday,
    parse_birthday,
)

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1988-05-20", SolarBirthday(5, 20, 1988)),
        ("1988/5/20", SolarBirthday(5, 20, 1988)),
        ("1988.5.20", SolarBirthday(5, 20, 1988)),
        ("19880520", SolarBirthday(5, 20, 1988)),
        ("1988年5月20日", SolarBirthday(5, 20, 1988)),
        ("１９８８－０５－２０", SolarBirthday(5, 20, 1988)),
        ("5月20日", SolarBirthday(5, 20)),
        ("5月20号", SolarBirthday(5, 20)),
        ("05-20", SolarBirthday(5, 20)),
        ("五月二十日", SolarBirthday(5, 20)),
        ("2月29日", SolarBirthday(2, 29)),
        ("2000-02-29", SolarBirthday(2, 29, 2000)),
        ("农历八月十五", LunarBirthday(8, 15)),
        ("阴历8月15日", LunarBirthday(8, 15)),
        ("农历正月初一", LunarBirthday(1, 1)),
        ("农历腊月廿三", LunarBirthday(12, 23)),
        ("腊月廿三", LunarBirthday(12, 23)),
        ("冬月初十", LunarBirthday(11, 10)),
        ("农历十一月三十", LunarBirthday(11, 30)),
        ("lunar 8-15", LunarBirthday(8, 15)),
        ("Lunar 8/15", LunarBirthday(8, 15)),
        ("农历闰四月初八", LunarBirthday(4, 8, leap=True)),
        ("闰四月初八", LunarBirthday(4, 8, leap=True)),
        ("lunar leap 4-8", LunarBirthday(4, 8, leap=True)),
        ("LUNAR LEAP 6-1", LunarBirthday(6, 1, leap=True)),
    ],
)
def test_parses_the_accepted_forms(typed: str, expected: object) -> None:
    assert parse_birthday(typed, today=TODAY) == expected


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", BirthdayProblem.EMPTY),
        ("   ", BirthdayProblem.EMPTY),
        ("明天", BirthdayProblem.UNRECOGNISED),
        ("hello", BirthdayProblem.UNRECOGNISED),
        ("1988-05", BirthdayProblem.UNRECOGNISED),
        ("农历八月初十一", BirthdayProblem.UNRECOGNISED),
        ("lunar leap", BirthdayProblem.UNRECOGNISED),
        ("2月30日", BirthdayProblem.INVALID_DATE),
        ("13月1日", BirthdayProblem.INVALID_DATE),
        ("1987-02-29", BirthdayProblem.INVALID_DATE),
        ("农历十三月初一", BirthdayProblem.INVALID_DATE),
        ("农历八月三十一", BirthdayProblem.INVALID_DATE),
        ("lunar 0-5", BirthdayProblem.INVALID_DATE),
        ("2030-01-01", BirthdayProblem.FUTURE),
        ("1899-12-31", BirthdayProblem.TOO_OLD),
    ],
)
def test_refuses_with_what_is_wrong(typed: str, problem: BirthdayProblem) -> None:
    with pytest.raises(BirthdayError) as caught:
        parse_birthday(typed, today=TODAY)
    assert caught.value.problem is problem


def test_solar_birthday_helpers() -> None:
    assert SolarBirthday(5, 20, 1988).as_date() == date(1988, 5, 20)
    assert SolarBirthday(5, 20).as_date() is None
    assert SolarBirthday(12, 3).mmdd == 1203


def test_future_check_needs_today() -> None:
    assert parse_birthday("2030-01-01") == SolarBirthday(1, 1, 2030)
