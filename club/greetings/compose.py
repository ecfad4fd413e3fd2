"""What each member gets on a greeting day: the day's facts, the greeting, the gifts.

`GreetingDay` holds what is the same for every member of a day (birthday keys, festivals);
`Composer` says what a run tells each member (the texts themselves are built in
`club.messaging.announcements`) and which gifts they get. `club.greetings.service` finds the
members, gives the gifts and records the messages through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.expressions import Q

from club.greetings.lunar import (
    CalendarKind,
    YearlyDate,
    falls_on,
    lunar_keys_on,
    occurrence_year,
    solar_keys_on,
    to_lunar,
)
from club.messaging import announcements
from club.messaging.announcements import Say
from club.programme import Festival, Programme
from club.rules import reasons


@dataclass(frozen=True)
class GreetingDay:
    """Everything about `day` that is the same for every member."""

    day: date
    solar_keys: tuple[int, ...]
    lunar_keys: tuple[tuple[int, int, bool], ...]
    festivals: tuple[Festival, ...]

    @classmethod
    def of(cls, day: date, programme: Programme) -> GreetingDay:
        festivals = tuple(f for f in programme.festivals if falls_on(_festival_date(f), day))
        return cls(day, tuple(solar_keys_on(day)), tuple(lunar_keys_on(day)), festivals)

    def birthday_query(self) -> Q:
        solar = Q(birthday_mmdd__in=list(self.solar_keys), birthday_lunar_month__isnull=True)
        lunar = [
            Q(birthday_lunar_month=m, birthday_lunar_day=d, birthday_lunar_leap=leap)
            for m, d, leap in self.lunar_keys
        ]
        return Q(solar, *lunar, join_type=Q.OR)

    def is_birthday(self, row: Mapping[str, Any]) -> bool:
        if row["birthday_lunar_month"] is not None:
            key = (
                row["birthday_lunar_month"],
                row["birthday_lunar_day"],
                row["birthday_lunar_leap"],
            )
            return key in self.lunar_keys
        return row["birthday_mmdd"] in self.solar_keys

    def birthday_year(self, row: Mapping[str, Any]) -> int:
        """The year of this birthday: the lunar year for a lunar birthday (gift ref)."""
        return self.day.year if row["birthday_lunar_month"] is None else to_lunar(self.day).year


class Composer:
    """What one greeting run tells each member: the day's two greetings (birthday and festival
    only) are made once, and a member's gifts by their tier."""

    def __init__(self, today: GreetingDay, programme: Programme) -> None:
        self.today = today
        self.programme = programme
        self._says = {
            birthday: announcements.greeting(programme, today.festivals, birthday, today.day)
            for birthday in (True, False)
        }
        self._festival_years = [
            (f, occurrence_year(_festival_date(f), today.day)) for f in today.festivals
        ]

    def say(self, birthday: bool) -> Say:
        return self._says[birthday]

    def gifts(self, row: Mapping[str, Any], birthday: bool) -> list[tuple[int, str, str]]:
        """The member's gifts today as (points, ledger ref, reason): the ledger is idempotent
        on the ref (`birthday:<member>:<year>`, `festival:<key>:<member>:<year>`)."""
        tier = self.programme.tiers.get(row["tier"])
        due = []
        if birthday and tier.birthday_gift_points > 0:
            year = self.today.birthday_year(row)
            ref = f"birthday:{row['id']}:{year}"
            due.append((tier.birthday_gift_points, ref, reasons.write("birthday_gift", year=year)))
        for festival, year in self._festival_years:
            points = festival.gift_for(tier.code)
            if points > 0:
                ref = f"festival:{festival.key}:{row['id']}:{year}"
                reason = reasons.write("festival_gift", festival=festival.name_zh, year=year)
                due.append((points, ref, reason))
        return due


def _festival_date(festival: Festival) -> YearlyDate:
    return YearlyDate(CalendarKind(festival.calendar.value), festival.month, festival.day)
