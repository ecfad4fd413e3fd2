"""Points expiry through the ledger: expire lots past their date, and what expires soon.

The scheduled job calls `expire_due(now)`; running it again (or two runs at once) expires nothing
twice: a lot is emptied in the same transaction as its EXPIRE ledger row (ref `lot:<id>`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.db.models.ledger import PointsLot
from club.points.ops import (
    LedgerError,
    Standing,
    expiry_ref,
    lock_member,
    set_standing,
    write_entry,
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


async def _expire_lot(lot_id: int, member_id: int, now: datetime) -> int:
    """Empty one lot past its date; 0 if it was already empty (spent or expired)."""
    try:
        async with in_transaction() as conn:
            old = await lock_member(conn, member_id)
            lot = await PointsLot.filter(id=lot_id).using_db(conn).first()
            if lot is None or lot.remaining <= 0:
                return 0
            points = int(lot.remaining)
            if points > old.balance:
                # Lots always hold exactly the balance; refuse to go on if that ever breaks.
                raise LedgerError(f"lot {lot_id} holds more than member {member_id}'s balance")
            emptied = (
                await PointsLot.filter(id=lot_id, remaining=points)
                .using_db(conn)
                .update(remaining=0)
            )
            if emptied != 1:
                return 0
            new = Standing(old.balance - points, old.debt)
            standing = await set_standing(conn, member_id, old, new)
            await write_entry(
                conn,
                member_id=member_id,
                kind=EntryKind.EXPIRE,
                points=-points,
                standing=standing,
                reason=reasons.write("expired"),
                ref=expiry_ref(lot_id),
                now=now,
                actor_id=None,
            )
            return points
    except IntegrityError:
        # Another run expired this lot at the same moment.
        return 0


async def expire_due(now: datetime, *, batch: int = 500) -> ExpiryRun:
    """Expire every lot whose date has passed; idempotent per lot."""
    last_id = 0
    lots = points = 0
    members: set[int] = set()
    while True:
        rows = (
            await PointsLot.filter(expires_at__lte=now, remaining__gt=0, id__gt=last_id)
            .order_by("id")
            .limit(batch)
            .values_list("id", "member_id")
        )
        if not rows:
            break
        for lot_id, member_id in rows:
            last_id = int(lot_id)
            expired = await _expire_lot(int(lot_id), int(member_id), now)
            if expired:
                lots += 1
                points += expired
                members.add(int(member_id))
    log.info("expired %s points in %s lots of %s members", points, lots, len(members))
    return ExpiryRun(lots, points, len(members))


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
