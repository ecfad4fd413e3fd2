"""Birthdays as members type them in chat, solar or lunar.

Pure: standard library only. Accepted forms (full-width characters fold to ASCII first):
- solar with year: `1988-05-20`, `1988/5/20`, `1988.5.20`, `19880520`, `1988年5月20日`
- solar without year: `5月20日`, `5月20号`, `05-20`, `5/20`
- lunar: `农历八月十五`, `阴历8月15`, `农历正月初一`, `农历腊月廿三`, `lunar 8-15`, `lunar 8/15`
- lunar leap month: `农历闰四月初八`, `lunar leap 4-8`
Whether a leap month or a 30th exists depends on the year; the greeting job decides what to do in
years without it, so here only month 1-12 and day 1-30 are checked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True)
class SolarBirthday:
    month: int
    day: int
    year: int | None = None

    @property
    def mmdd(self) -> int:
        return self.month * 100 + self.day

    def as_date(self) -> date | None:
        return date(self.year, self.month, self.day) if self.year is not None else None


@dataclass(frozen=True)
class LunarBirthday:
    month: int
    day: int
    leap: bool = False


Birthday = SolarBirthday | LunarBirthday


class BirthdayProblem(StrEnum):
    EMPTY = "empty"
    UNRECOGNISED = "unrecognised"
    """Not in any accepted form: the handler shows the examples."""
    INVALID_DATE = "invalid_date"
    """Recognised, but no such day (2月30日, 13月, 农历十三月)."""
    FUTURE = "future"
    TOO_OLD = "too_old"


class BirthdayError(ValueError):
    def __init__(self, problem: BirthdayProblem) -> None:
        super().__init__(f"invalid birthday: {problem.value}")
        self.problem = problem


EARLIEST_YEAR = 1900

_LUNAR_PREFIX = re.compile(r"^(?:农历|阴历|旧历|lunar)\s*", re.IGNORECASE)
_LEAP_PREFIX = re.compile(r"^(?:闰|leap)\s*", re.IGNORECASE)
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_YMD_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MD = re.compile(r"^(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*[日号]?$")
_CN_MD = re.compile(r"^(.+?)月(.+?)[日号]?$")

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_DIGITS |= {"七": 7, "八": 8, "九": 9}
_MONTH_NAMES = {"正": 1, "元": 1, "冬": 11, "腊": 12, "臘": 12}


def _chinese_number(text: str) -> int | None:
    """一..三十一, 廿/卅 forms and ASCII digits; None when it is not a number we read."""
    if text.isascii() and text.isdigit():
        return int(text)
    text = text.replace("廿", "二十").replace("卅", "三十")
    if text in _DIGITS:
        return _DIGITS[text]
    if "十" in text:
        tens_text, _, ones_text = text.partition("十")
        tens = 1 if tens_text == "" else _DIGITS.get(tens_text)
        ones = 0 if ones_text == "" else _DIGITS.get(ones_text)
        if tens is None or ones is None or len(tens_text) > 1 or len(ones_text) > 1:
            return None
        return tens * 10 + ones
    return None


def _lunar_month(text: str) -> int | None:
    if text in _MONTH_NAMES:
        return _MONTH_NAMES[text]
    return _chinese_number(text)


def _lunar_day(text: str) -> int | None:
    if text.startswith("初"):
        value = _chinese_number(text[1:])
        return value if value is not None and value <= 10 else None
    return _chinese_number(text)


def _parse_lunar(body: str) -> LunarBirthday:
    leap_match = _LEAP_PREFIX.match(body)
    leap = leap_match is not None
    if leap_match:
        body = body[leap_match.end() :].strip()
    month: int | None
    day: int | None
    numeric = _MD.match(body)
    chinese = _CN_MD.match(body)
    if numeric:
        month, day = int(numeric.group(1)), int(numeric.group(2))
    elif chinese:
        month, day = _lunar_month(chinese.group(1).strip()), _lunar_day(chinese.group(2).strip())
        if month is None or day is None:
            raise BirthdayError(BirthdayProblem.UNRECOGNISED)
    else:
        raise BirthdayError(BirthdayProblem.UNRECOGNISED)
    if not (1 <= month <= 12 and 1 <= day <= 30):
        raise BirthdayError(BirthdayProblem.INVALID_DATE)
    return LunarBirthday(month=month, day=day, leap=leap)


def _solar(year: int | None, month: int, day: int, today: date | None) -> SolarBirthday:
    # 2000 is a leap year: a yearless 2月29日 is a real birthday.
    try:
        when = date(year if year is not None else 2000, month, day)
    except ValueError:
        raise BirthdayError(BirthdayProblem.INVALID_DATE) from None
    if year is not None:
        if year < EARLIEST_YEAR:
            raise BirthdayError(BirthdayProblem.TOO_OLD)
        if today is not None and when > today:
            raise BirthdayError(BirthdayProblem.FUTURE)
    return SolarBirthday(month=month, day=day, year=year)


def parse_birthday(text: str, *, today: date | None = None) -> Birthday:
    """A typed birthday from chat text, or BirthdayError saying what is wrong.

    `today` (the club's local date) rejects birthdays in the future when a year is given.
    """
    body = unicodedata.normalize("NFKC", text).strip()
    if not body:
        raise BirthdayError(BirthdayProblem.EMPTY)
    lunar = _LUNAR_PREFIX.match(body)
    if lunar:
        return _parse_lunar(body[lunar.end() :].strip())
    if _LEAP_PREFIX.match(body):
        # "闰四月初八" only makes sense in the lunar calendar.
        return _parse_lunar(body)
    for pattern in (_YMD, _YMD_COMPACT):
        full = pattern.match(body)
        if full:
            year, month, day = (int(g) for g in full.groups())
            return _solar(year, month, day, today)
    short = _MD.match(body)
    if short:
        return _solar(None, int(short.group(1)), int(short.group(2)), today)
    return _parse_chinese_without_prefix(body, today)


def _parse_chinese_without_prefix(body: str, today: date | None) -> Birthday:
    """`腊月廿三` / `正月初一` are lunar by their wording; `五月二十日` is read as solar."""
    words = _CN_MD.match(body)
    if not words:
        raise BirthdayError(BirthdayProblem.UNRECOGNISED)
    month_text, day_text = words.group(1).strip(), words.group(2).strip()
    if month_text in _MONTH_NAMES or day_text.startswith(("初", "廿", "卅")):
        return _parse_lunar(body)
    month, day = _chinese_number(month_text), _chinese_number(day_text)
    if month is None or day is None:
        raise BirthdayError(BirthdayProblem.UNRECOGNISED)
    return _solar(None, month, day, today)
