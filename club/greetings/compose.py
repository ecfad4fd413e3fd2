"""What each member gets on a greeting day: the day's facts, the text, the outbox row.

`GreetingDay` holds what is the same for every member of a day (birthday keys, festivals);
`Composer` builds the outbox rows of one job run, working out once what many members share.
`club.greetings.service` finds the members and records the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.expressions import Q

from club.db.models.outbox import OutboxChannel, OutboxStatus
from club.db.outbox_bulk import NewOutboxRow, encode_payload
from club.greetings.lunar import (
    CalendarKind,
    YearlyDate,
    falls_on,
    lunar_keys_on,
    occurrence_year,
    solar_keys_on,
    to_lunar,
)
from club.messaging.plan import (
    Channel,
    DeliveryRules,
    Planner,
)
from club.messaging.window import contact_from
from club.programme import Festival, Programme


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

    def is_birthday(self, row: dict[str, Any]) -> bool:
        if row["birthday_lunar_month"] is not None:
            key = (
                row["birthday_lunar_month"],
                row["birthday_lunar_day"],
                row["birthday_lunar_leap"],
            )
            return key in self.lunar_keys
        return row["birthday_mmdd"] in self.solar_keys

    def birthday_year(self, row: dict[str, Any]) -> int:
        """The year of this birthday: the lunar year for a lunar birthday (gift ref)."""
        return self.day.year if row["birthday_lunar_month"] is None else to_lunar(self.day).year


class Composer:
    """Builds the outbox rows of one job run. What is the same for many members is worked out
    once: the delivery plan's quiet hours (`Planner`), the festival-only title and text per
    language, and each distinct payload's JSON (most members get one of a few payloads)."""

    def __init__(
        self, today: GreetingDay, programme: Programme, rules: DeliveryRules, now: datetime
    ) -> None:
        self.today = today
        self.programme = programme
        self.rules = rules
        self.planner = Planner(rules, now)
        self.festival_title = " · ".join(f.name_zh for f in today.festivals)
        self.day = today.day.isoformat()
        self._texts: dict[str, str] = {}
        self._festival_years = [
            (f, occurrence_year(_festival_date(f), today.day)) for f in today.festivals
        ]
        self._payloads: dict[tuple[str, str, str | None, str | None], str] = {}

    def next_batch(self) -> None:
        """Forget the batch's payloads (birthday texts are per member: memory stays flat)."""
        self._payloads.clear()

    def message(
        self,
        row: dict[str, Any],
        key: str,
        birthday: bool,
        sent: Mapping[str, tuple[datetime, ...]],
    ) -> NewOutboxRow:
        kind = "birthday" if birthday else "festival"
        text = self._text(row, birthday)
        plan = self.planner.plan(contact_from(row, sent), kind)
        title = "生日祝福" if birthday else self.festival_title
        template_id = self.rules.template_ids.get(kind)
        channel = Channel.TEMPLATE if plan.channel is Channel.TEMPLATE else Channel.CUSTOM
        cache_key = (
            title,
            text,
            plan.template_id if channel is Channel.TEMPLATE else None,
            template_id,
        )
        payload = self._payloads.get(cache_key)
        if payload is None:
            payload = encode_payload(
                _payload(text, title, self.day, channel, plan.template_id, template_id)
            )
            self._payloads[cache_key] = payload
        return NewOutboxRow(
            idempotency_key=key,
            openid=row["openid"],
            member_id=row["id"],
            kind=kind,
            channel=OutboxChannel.TEMPLATE if channel is Channel.TEMPLATE else OutboxChannel.CUSTOM,
            payload_json=payload,
            status=OutboxStatus.QUEUED if plan.sendable else OutboxStatus.SKIPPED,
            last_error=plan.skipped,
            not_before=plan.not_before,
        )

    def gifts(self, row: dict[str, Any], birthday: bool) -> list[tuple[int, str, str]]:
        """The member's gifts today as (points, ledger ref, reason): the ledger is idempotent
        on the ref (`birthday:<member>:<year>`, `festival:<key>:<member>:<year>`)."""
        tier = self.programme.tiers.get(row["tier"])
        due = []
        if birthday and tier.birthday_gift_points > 0:
            year = self.today.birthday_year(row)
            ref = f"birthday:{row['id']}:{year}"
            due.append((tier.birthday_gift_points, ref, f"birthday gift {year}"))
        for festival, year in self._festival_years:
            points = festival.gift_for(tier.code)
            if points > 0:
                ref = f"festival:{festival.key}:{row['id']}:{year}"
                due.append((points, ref, f"{festival.name_en} gift {year}"))
        return due

    def _text(self, row: dict[str, Any], birthday: bool) -> str:
        if birthday:
            return greeting_text(row, self.today, birthday, self.programme)
        lang = "en" if row["language"] == "en" else "zh"
        text = self._texts.get(lang)
        if text is None:
            text = self._texts[lang] = greeting_text(row, self.today, False, self.programme)
        return text


def _payload(
    text: str,
    title: str,
    day: str,
    channel: Channel,
    plan_template_id: str | None,
    template_id: str | None,
) -> dict[str, Any]:
    data = {"title": title, "content": text, "date": day}
    payload: dict[str, Any]
    if channel is Channel.TEMPLATE:
        payload = {
            "msgtype": "template",
            "template_id": plan_template_id,
            "data": data,
            "url": None,
        }
    else:
        payload = {"msgtype": "text", "text": text}
        if template_id:
            # The worker's fallback when WeChat says the window has closed (45015/45047).
            payload["fallback"] = {"template_id": template_id, "data": data}
    return payload


def greeting_text(
    row: dict[str, Any], today: GreetingDay, birthday: bool, programme: Programme
) -> str:
    """The festival greetings of the day, then the birthday wish: one message."""
    lang = "en" if row["language"] == "en" else "zh"
    parts = [f.text_en if lang == "en" else f.text_zh for f in today.festivals]
    if birthday:
        tier = programme.tiers.get(row["tier"])
        name = row["name"] or ("dear member" if lang == "en" else "尊敬的会员")
        wish = programme.birthday.text_for(tier.code, lang)
        parts.append(wish.format(name=name, gift=tier.birthday_gift_points))
    return "\n".join(parts)


def _festival_date(festival: Festival) -> YearlyDate:
    return YearlyDate(CalendarKind(festival.calendar.value), festival.month, festival.day)
