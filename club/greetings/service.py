"""Birthday and festival greetings: who is greeted today, with what, and queued in the outbox.

- Today's birthdays come from the indexes, never a scan: `birthday_mmdd` for solar birthdays and
  (`birthday_lunar_month`, `birthday_lunar_day`) for lunar ones, asked for exactly the keys that
  greet today (`club.greetings.lunar`: 29 February, lunar 30th and leap-month rules). A member
  who gave a lunar birthday is greeted by it alone.
- Festival recipients are every active, consenting member, read in id order in batches: memory
  stays flat however many members there are.
- A member whose birthday is a festival gets one combined message. Both jobs build the same
  greeting for such a member and use the same outbox key `greeting:<member>:<day>`, so whichever
  job runs first sends it and the other finds it there: at most one greeting a member a day.
- Gifts go through the ledger, a batch's gifts in one transaction (`club.points.bulk`),
  idempotent on their refs (`birthday:<member>:<year>`, `festival:<key>:<member>:<year>`),
  before the batch's messages; a run killed half-way and run again gives the rest and nothing
  twice.
- How each message goes (customer service, template, or skipped with the reason) is decided by
  `club.messaging.plan`, with the customer-service messages each member of the batch received lately
  (`club.messaging.window`, one query a batch); the sender decides again when the message goes.
- The day's facts, the texts and each member's outbox row are built in `club.greetings.compose`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from club.db.models.members import Member, MemberStatus
from club.db.outbox_bulk import Inserted, existing_keys
from club.greetings.compose import Composer, GreetingDay
from club.messaging.keys import greeting_key
from club.messaging.outbox import MEMBER_FIELDS as CONTACT_FIELDS
from club.messaging.outbox import Batch, Letter, Outbox, count_plan
from club.points.bulk import Credit, credit_many
from club.programme import Programme
from club.rules.expiry import expires_at

log = logging.getLogger(__name__)

BATCH = 1000
MEMBER_FIELDS = (
    *CONTACT_FIELDS,
    "birthday_mmdd",
    "birthday_lunar_month",
    "birthday_lunar_day",
    "birthday_lunar_leap",
)


class Gifts(Protocol):
    """Credits a batch's bonus points in one transaction; idempotent on each ref
    (`club.points.bulk.credit_many` with kind BONUS)."""

    async def __call__(self, gifts: Sequence[Credit], *, now: datetime) -> None: ...


def ledger_gifts(programme: Programme) -> Gifts:
    """Gifts as BONUS credits in the points ledger, expiring by the programme's rule."""

    async def give(gifts: Sequence[Credit], *, now: datetime) -> None:
        await credit_many(gifts, now=now, expires_at=expires_at(now, programme.expiry))

    return give


async def greet_birthdays(
    day: date,
    *,
    programme: Programme,
    now: datetime,
    gifts: Gifts,
    outbox: Outbox | None = None,
) -> dict[str, int]:
    """Greet today's birthday members (with a festival's greeting when today is one); the
    messages go through `outbox` (none given: recorded, left for the senders' sweep)."""
    today = GreetingDay.of(day, programme)
    members = _stream(_eligible().filter(today.birthday_query()))
    return await _greet(members, today, programme, now, gifts, outbox or Outbox(programme))


async def greet_festivals(
    day: date,
    *,
    programme: Programme,
    now: datetime,
    gifts: Gifts,
    outbox: Outbox | None = None,
) -> dict[str, int]:
    """Greet every active, consenting member on a festival day; nothing on other days."""
    today = GreetingDay.of(day, programme)
    if not today.festivals:
        return {"festivals": 0}
    members = _stream(_eligible())
    counts = await _greet(members, today, programme, now, gifts, outbox or Outbox(programme))
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
    outbox: Outbox,
) -> dict[str, int]:
    compose = Composer(today, programme)
    record = _Recorder()
    counts: Counter[str] = Counter()
    try:
        async for rows in batches:
            keys = [greeting_key(row["id"], today.day) for row in rows]
            greeted = await existing_keys(keys)
            waiting = [row for row, key in zip(rows, keys, strict=True) if key not in greeted]
            batch = await outbox.batch(waiting, now)
            letters = []
            due_gifts: list[Credit] = []
            for row, key in zip(rows, keys, strict=True):
                birthday = today.is_birthday(row)
                counts["found"] += 1
                counts["birthdays"] += birthday
                if key in greeted:
                    # Greeted already today (an earlier run, or the other greeting job): the
                    # gifts were given before the message was recorded: nothing left to do.
                    counts["already"] += 1
                    continue
                for points, ref, reason in compose.gifts(row, birthday):
                    due_gifts.append(Credit(row["id"], points, ref, reason))
                    counts["gift_points"] += points
                letter = batch.letter(row, compose.say(birthday), key)
                count_plan(counts, letter.plan)
                letters.append(letter)
            if due_gifts:
                # The batch before is recorded before this batch's gifts are given (one
                # transaction): a run killed half-way has at most one batch of gifts without
                # their messages, and the run again gives the rest (refs are idempotent).
                await record.wait()
                await gifts(due_gifts, now=now)
            await record.start(batch, letters)
    finally:
        await record.wait()
    log.info("greetings for %s: %s", today.day, dict(counts))
    return dict(counts)


class _Recorder:
    """Records a batch's messages (and hands the due ones on) while the next batch is read and
    composed: the database inserts one batch as Python works on the next. One batch at a time
    is in flight, and batches are recorded and handed on in order."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[list[Inserted]] | None = None

    async def start(self, batch: Batch, letters: list[Letter]) -> None:
        await self.wait()
        if letters:
            # One statement a batch on PostgreSQL; a key another run recorded meanwhile is kept
            # as it is. The rows handed on are those this call inserted that are due now.
            self._pending = asyncio.ensure_future(batch.record(letters))

    async def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending
