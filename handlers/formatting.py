"""How numbers, dates and birthdays read in a reply, in the member's language.

The templates live in `handlers.texts`; this module only picks them and fills them in.
"""

from __future__ import annotations

from datetime import date, datetime

from club.members.birthday_text import Birthday, BirthdayError, BirthdayProblem, SolarBirthday
from handlers.texts import Lang, t

_MONTHS_EN = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_LUNAR_MONTHS_ZH = ("正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊")
_DIGITS_ZH = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九")


def yuan(fen: int, lang: Lang) -> str:
    """`150000` -> `¥1500`, `12345` -> `¥123.45` (money is integer fen everywhere else)."""
    whole, cents = divmod(fen, 100)
    amount = f"{whole}" if cents == 0 else f"{whole}.{cents:02d}"
    return t("yuan", lang, amount=amount)


def day(value: date | datetime, lang: Lang) -> str:
    """A calendar day (a datetime is read in its own time zone: the club's)."""
    return t("date", lang, year=value.year, month=value.month, day=value.day)


def lunar_day_zh(number: int) -> str:
    """初一..初十, 十一..十九, 二十, 廿一..廿九, 三十 (how lunar days are written)."""
    if number <= 10:
        return "初" + ("十" if number == 10 else _DIGITS_ZH[number])
    if number < 20:
        return "十" + _DIGITS_ZH[number - 10]
    if number == 20:
        return "二十"
    if number < 30:
        return "廿" + _DIGITS_ZH[number - 20]
    return "三十"


def birthday(value: Birthday | None, lang: Lang) -> str:
    if value is None:
        return t("not_recorded", lang)
    if isinstance(value, SolarBirthday):
        if value.year is not None:
            return t("birthday_solar_year", lang, year=value.year, month=value.month, day=value.day)
        return t(
            "birthday_solar", lang, month=value.month, day=value.day,
            month_name=_MONTHS_EN[value.month - 1],
        )  # fmt: skip
    key = "birthday_lunar_leap" if value.leap else "birthday_lunar"
    if lang == "zh":
        month = _LUNAR_MONTHS_ZH[value.month - 1] + "月"
        return t(key, lang, month=month, day=lunar_day_zh(value.day))
    return t(key, lang, month=value.month, day=value.day)


def birthday_problem(error: BirthdayError, lang: Lang) -> str:
    """What is wrong with a typed birthday, and what we expect instead."""
    examples = t("birthday_examples", lang)
    if error.problem is BirthdayProblem.FUTURE:
        return t("birthday_future", lang)
    if error.problem is BirthdayProblem.TOO_OLD:
        return t("birthday_too_old", lang)
    if error.problem is BirthdayProblem.INVALID_DATE:
        return t("birthday_invalid_date", lang, examples=examples)
    return t("birthday_unrecognised", lang, examples=examples)
