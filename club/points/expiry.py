"""Points expiry through the ledger: expire lots past their date, and what expires soon.

The scheduled job calls `expire_due(now)`; running it again (or two runs at once) expires nothing
twice: a lot is emptied in the same transaction as its EXPIRE ledger row (ref `lot:<id>`). Lots
go a batch per transaction (a whole year's lots expire on one day): the batch's members are
locked in id order, as the ledger's own movements lock them, and the lots re-read under the lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.db.models.ledger import PointsLot
from club.points.ops import (
    LedgerError,
    NewEntry,
    Standing,
    empty_lots,
    expiry_ref,
    lock_members,
    lots_with_expiry,
    set_standings,
    write_entries,
)
from club.rules import reasons
from club.rules.expiry import last_valid_day
from club.rules.kinds import EntryKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpiryRun:
    lots: int
    points: int
    members: int


@dataclass(frozen=True)
class ExpiringPoints:
    points: int
    expires_on: date
    """Last valid day (club time zone)."""
    expires_at: datetime


BATCH = 500
"""Lots per transaction: a year's lots expire on one day; one transaction each took ~2-16 ms."""


async def _expire_lot(lot_id: int, member_id: int, now: datetime) -> int:
    """Empty one lot past its date on its own; 0 if it was already empty (spent or expired)."""
    try:
        async with in_transaction() as conn:
            expired = await _empty_lots(conn, [lot_id], [member_id], now)
    except IntegrityError:
        # Another run expired this lot at the same moment.
        return 0
    return sum(points for _, points in expired)


async def _expire_batch(rows: list[tuple[int, int]], now: datetime) -> list[tuple[int, int]]:
    """Empty a batch of (lot, member) in one transaction; (member, points) of each lot emptied.

    Should the batch still meet an EXPIRE row written meanwhile (the unique ref), it is done
    again lot by lot, so that the other lots' work is not lost.
    """
    try:
        async with in_transaction() as conn:
            return await _empty_lots(conn, [r[0] for r in rows], [r[1] for r in rows], now)
    except IntegrityError:
        log.warning("expiry batch met a lot expired meanwhile; going on lot by lot")
    expired = []
    for lot_id, member_id in rows:
        points = await _expire_lot(lot_id, member_id, now)
        if points:
            expired.append((member_id, points))
    return expired


async def _empty_lots(
    conn: BaseDBAsyncClient, lot_ids: list[int], member_ids: list[int], now: datetime
) -> list[tuple[int, int]]:
    """Inside the open transaction: lock the members (id order), re-read their lots under the lock
    (a lot spent, refunded into, or expired since it was selected counts as it is now), empty
    them with one EXPIRE row each, ref `lot:<id>`, carrying the member's running balance."""
    olds = await lock_members(conn, member_ids)
    lots = (
        await PointsLot.filter(id__in=lot_ids, member_id__in=list(olds), remaining__gt=0)
        .using_db(conn)
        .order_by("id")
        .values_list("id", "member_id", "remaining")
    )
    done = await lots_with_expiry(conn, [int(lot[0]) for lot in lots])
    standings = dict(olds)
    reason = reasons.write("expired")
    entries: list[NewEntry] = []
    emptied: list[tuple[int, int]] = []
    expired: list[tuple[int, int]] = []
    for lot_id, member_id, remaining in lots:
        lot_id, member_id, points = int(lot_id), int(member_id), int(remaining)
        if lot_id in done:
            continue  # already expired once: never twice (the unique ref would refuse it anyway)
        old = standings[member_id]
        if points > old.balance:
            # Lots always hold exactly the balance; refuse to go on if that ever breaks.
            raise LedgerError(f"lot {lot_id} holds more than member {member_id}'s balance")
        standings[member_id] = new = Standing(old.balance - points, old.debt)
        entries.append(
            NewEntry(member_id, -points, new, expiry_ref(lot_id), EntryKind.EXPIRE, reason)
        )
        emptied.append((lot_id, points))
        expired.append((member_id, points))
    if not entries:
        return []
    await empty_lots(conn, emptied)
    await set_standings(conn, {m: (olds[m], standings[m]) for m in olds if standings[m] != olds[m]})
    await write_entries(conn, entries, now=now)
    return expired


async def expire_due(now: datetime, *, batch: int = BATCH) -> ExpiryRun:
    """Expire every lot whose date has passed, `batch` lots a transaction; idempotent per lot."""
    last_id = 0
    lots = points = 0
    members: set[int] = set()
    while True:
        rows = await _due(now, last_id, batch)
        if not rows:
            break
        last_id = rows[-1][0]
        for member_id, expired in await _expire_batch(rows, now):
            lots += 1
            points += expired
            members.add(member_id)
    log.info("expired %s points in %s lots of %s members", points, lots, len(members))
    return ExpiryRun(lots, points, len(members))


async def _due(now: datetime, after: int, batch: int) -> list[tuple[int, int]]:
    """(lot, member) of the next `batch` lots past their date still holding points, by lot id."""
    rows = (
        await PointsLot.filter(expires_at__lte=now, remaining__gt=0, id__gt=after)
        .order_by("id")
        .limit(batch)
        .values_list("id", "member_id")
    )
    return [(int(lot), int(member)) for lot, member in rows]


async def expiring_soon(member_id: int, now: datetime, days: int) -> tuple[ExpiringPoints, ...]:
    """Points that expire within `days` days of `now`, grouped by expiry day, soonest first."""
    rows = (
        await PointsLot.filter(
            member_id=member_id,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        )
        .order_by("expires_at")
        .values_list("remaining", "expires_at")
    )
    groups: dict[date, ExpiringPoints] = {}
    for remaining, expires in rows:
        local = expires.astimezone(now.tzinfo)
        day = last_valid_day(local)
        seen = groups.get(day)
        total = int(remaining) + (seen.points if seen else 0)
        groups[day] = ExpiringPoints(total, day, seen.expires_at if seen else local)
    return tuple(groups.values())


async def next_expiry(member_id: int, now: datetime) -> tuple[int, date | None]:
    """(points, last valid day) of the member's points that expire next; (0, None) if none."""
    first = (
        await PointsLot.filter(member_id=member_id, remaining__gt=0, expires_at__gt=now)
        .order_by("expires_at")
        .first()
    )
    if first is None or first.expires_at is None:
        return 0, None
    day = last_valid_day(first.expires_at.astimezone(now.tzinfo))
    window = await expiring_soon(member_id, now, (day - now.date()).days + 2)
    for group in window:
        if group.expires_on == day:
            return group.points, day
    return 0, None
