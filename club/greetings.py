"""Birthday and festival greetings: who is greeted today, with what, and queued in the outbox.

- Today's birthdays come from the indexes, never a scan: `birthday_mmdd` for solar birthdays and
  (`birthday_lunar_month`, `birthday_lunar_day`) for lunar ones, asked for exactly the keys that
  greet today (`club.lunar`: 29 February, lunar 30th and leap-month rules). A member who gave a
  lunar birthday is greeted by it alone.
- Festival recipients are every active, consenting member, read in id order in batches: memory
  stays flat however many members there are.
- A member whose birthday is a festival gets one combined message. Both jobs build the same
  greeting for such a member and use the same outbox key `greeting:<member>:<day>`, so whichever
  job runs first sends it and the other finds it there: at most one greeting a member a day.
- Gifts go through the ledger, idempotent on their refs (`birthday:<member>:<year>`,
  `festival:<key>:<member>:<year>`), before the message; a run killed half-way and run again
  gives the rest and nothing twice.
- How each message goes (customer service, template, or skipped with the reason) is decided by
  `club.delivery`, with the customer-service messages each member of the batch received lately
  (`club.cs_window`, one query a batch); the sender decides again when the message goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from tortoise.expressions import Q

from club import points as points_ledger
from club.cs_window import contact_from, custom_sent, since_for
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxStatus
from club.db.outbox_bulk import NewOutboxRow, encode_payload, existing_keys, insert_new
from club.delivery import (
    Channel,
    DeliveryRules,
    Planner,
    delivery_rules,
    greeting_key,
)
from club.lunar import (
    CalendarKind,
    YearlyDate,
    falls_on,
    lunar_keys_on,
    occurrence_year,
    solar_keys_on,
    to_lunar,
)
from club.programme import Festival, Programme
from club.rules.expiry import expires_at
from club.rules.kinds import EntryKind

log = logging.getLogger(__name__)

BATCH = 1000
MEMBER_FIELDS = (
    "id",
    "openid",
    "name",
    "tier",
    "language",
    "status",
    "last_interaction_at",
    "last_message_at",
    "unreachable_at",
    "birthday_mmdd",
    "birthday_lunar_month",
    "birthday_lunar_day",
    "birthday_lunar_leap",
)


class Gifts(Protocol):
    """Credits bonus points; idempotent on `ref` (the ledger's `credit` with kind BONUS)."""

    async def __call__(
        self, member_id: int, points: int, *, ref: str, reason: str, now: datetime
    ) -> None: ...


def ledger_gifts(programme: Programme) -> Gifts:
    """Gifts as BONUS credits in the points ledger, expiring by the programme's rule."""

    async def give(member_id: int, points: int, *, ref: str, reason: str, now: datetime) -> None:
        await points_ledger.credit(
            member_id,
            points,
            kind=EntryKind.BONUS,
            ref=ref,
            reason=reason,
            now=now,
            expires_at=expires_at(now, programme.expiry),
        )

    return give


Queued = Callable[[Sequence[int]], Awaitable[None]]
"""Told the ids of outbox rows that are due now, batch by batch (the queue workers' feed)."""


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


async def greet_birthdays(
    day: date, *, programme: Programme, now: datetime, gifts: Gifts, queued: Queued | None = None
) -> dict[str, int]:
    """Greet today's birthday members (with a festival's greeting when today is one)."""
    today = GreetingDay.of(day, programme)
    members = _stream(_eligible().filter(today.birthday_query()))
    return await _greet(members, today, programme, now, gifts, queued)


async def greet_festivals(
    day: date, *, programme: Programme, now: datetime, gifts: Gifts, queued: Queued | None = None
) -> dict[str, int]:
    """Greet every active, consenting member on a festival day; nothing on other days."""
    today = GreetingDay.of(day, programme)
    if not today.festivals:
        return {"festivals": 0}
    counts = await _greet(_stream(_eligible()), today, programme, now, gifts, queued)
    return {"festivals": len(today.festivals), **counts}


def _eligible() -> Any:
    return Member.filter(
        status=MemberStatus.ACTIVE, consent_at__isnull=False, joined_at__isnull=False
    )


async def _stream(query: Any, batch: int = BATCH) -> AsyncIterator[list[dict[str, Any]]]:
    """Rows in id order, `batch` at a time (keyset pagination: each page is an index range)."""
    last = 0
    while True:
        rows = await query.filter(id__gt=last).order_by("id").limit(batch).values(*MEMBER_FIELDS)
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


async def _greet(
    batches: AsyncIterator[list[dict[str, Any]]],
    today: GreetingDay,
    programme: Programme,
    now: datetime,
    gifts: Gifts,
    queued: Queued | None,
) -> dict[str, int]:
    rules = delivery_rules(programme)
    compose = _Composer(today, programme, rules, now)
    record = _Recorder(now, queued)
    counts: Counter[str] = Counter()
    try:
        async for rows in batches:
            keys = [greeting_key(row["id"], today.day) for row in rows]
            greeted = await existing_keys(keys)
            waiting = [
                row["openid"] for row, key in zip(rows, keys, strict=True) if key not in greeted
            ]
            sent = await custom_sent(waiting, since=since_for(rules, now), now=now)
            messages = []
            for row, key in zip(rows, keys, strict=True):
                birthday = today.is_birthday(row)
                counts["found"] += 1
                counts["birthdays"] += birthday
                if key in greeted:
                    # Greeted already today (an earlier run, or the other greeting job): the
                    # gifts were given before the message was recorded: nothing left to do.
                    counts["already"] += 1
                    continue
                due_gifts = compose.gifts(row, birthday)
                if due_gifts:
                    # The batch before is recorded before any gift of this one is given: a run
                    # killed half-way has at most one batch of gifts without their messages.
                    await record.wait()
                    for points, ref, reason in due_gifts:
                        await gifts(row["id"], points, ref=ref, reason=reason, now=now)
                        counts["gift_points"] += points
                message = compose.message(row, key, birthday, sent)
                counts[message.status.value] += 1
                messages.append(message)
            compose.next_batch()
            await record.start(messages)
    finally:
        await record.wait()
    log.info("greetings for %s: %s", today.day, dict(counts))
    return dict(counts)


class _Recorder:
    """Records a batch's outbox rows (and hands the due ones on) while the next batch is read
    and composed: the database inserts one batch as Python works on the next. One batch at a
    time is in flight, and batches are recorded and handed on in order."""

    def __init__(self, now: datetime, queued: Queued | None) -> None:
        self.now = now
        self.queued = queued
        self._pending: asyncio.Task[None] | None = None

    async def start(self, messages: list[NewOutboxRow]) -> None:
        await self.wait()
        if messages:
            self._pending = asyncio.ensure_future(self._record(messages))

    async def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def _record(self, messages: list[NewOutboxRow]) -> None:
        # One statement a batch on PostgreSQL; a key another run recorded meanwhile is kept as
        # it is. The ids handed on are those of rows this call inserted that are due now.
        due = await insert_new(messages, due_at=self.now if self.queued is not None else None)
        if self.queued is not None:
            await self.queued(due)


class _Composer:
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
