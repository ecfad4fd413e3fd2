"""The points ledger service: credit, debit, reverse, refund, adjust, balance.

Each movement is one transaction: a conditional update of the member's balance/debt, a ledger row
unique on (kind, ref), and the earned lots. Debits and reversals record which lots they took
(`PointsLotUse`); a refund gives the points back to those lots, with their own expiry. A repeated
(kind, ref) returns the first movement and changes nothing; a concurrent repeat loses on the
unique key and returns the winner's movement.

Invariants (tested): the sum of a member's ledger points == balance - debt; balance >= 0;
debt >= 0; the sum of the remaining points of their lots == balance; no lot holds more than its
points.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.points.expiry import next_expiry
from club.points.ops import (
    InsufficientPoints,
    InvalidMovement,
    LedgerError,
    Standing,
    UnknownMember,
    add_lot,
    add_without_debt,
    credit_in_one_statement,
    lock_member,
    set_standing,
    take_from_lots,
    take_if_covered,
    write_entry,
)
from club.points.refunds import Refund, refund_spends
from club.rules.kinds import EntryKind
from club.rules.lots import pay_debt

log = logging.getLogger(__name__)

__all__ = [
    "BalanceView",
    "EntryKind",
    "InsufficientPoints",
    "InvalidMovement",
    "LedgerError",
    "Movement",
    "RefConflict",
    "UnknownMember",
    "adjust",
    "balance",
    "credit",
    "debit",
    "refund",
    "reverse",
]

CREDIT_KINDS = frozenset({EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST})
"""A REFUND is not a credit: `refund` gives the points back to the lots they came from."""
DEBIT_KINDS = frozenset({EntryKind.REDEEM, EntryKind.ADJUST})


class RefConflict(LedgerError):
    """The (kind, ref) was already used for a different member or amount."""


@dataclass(frozen=True)
class Movement:
    entry_id: int
    member_id: int
    kind: EntryKind
    points: int
    """Signed: positive for credits, negative for debits."""
    balance_after: int
    debt_after: int
    ref: str
    reason: str
    created_at: datetime
    replayed: bool = field(default=False, compare=False)
    """True when this answers a repeat of an earlier request (nothing changed this time)."""


@dataclass(frozen=True)
class BalanceView:
    member_id: int
    balance: int
    debt: int
    next_expiry_points: int
    next_expiry_on: date | None
    """Last valid day of the points that expire next (club time zone), None if nothing does."""


def _movement(entry: LedgerEntry, replayed: bool) -> Movement:
    return Movement(
        entry_id=entry.id,
        member_id=entry.member_id,
        kind=EntryKind(entry.kind),
        points=entry.points,
        balance_after=entry.balance_after,
        debt_after=entry.debt_after,
        ref=entry.ref,
        reason=entry.reason,
        created_at=entry.created_at,
        replayed=replayed,
    )


async def _first(
    kind: EntryKind, ref: str, member_id: int, points: int, conn: BaseDBAsyncClient | None
) -> Movement | None:
    query = LedgerEntry.filter(kind=kind, ref=ref)
    entry = await (query.using_db(conn) if conn is not None else query).first()
    if entry is None:
        return None
    if entry.member_id != member_id or entry.points != points:
        raise RefConflict(
            f"{kind} {ref!r} was already used for member {entry.member_id}, {entry.points} points"
        )
    return _movement(entry, replayed=True)


def _check(
    points: int, kind: EntryKind, allowed: frozenset[EntryKind], ref: str, reason: str
) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidMovement(f"points must be a positive integer, got {points!r}")
    if kind not in allowed:
        raise InvalidMovement(f"{kind} is not allowed here")
    if not ref.strip() or len(ref) > 128:
        raise InvalidMovement("ref must be 1..128 characters")
    if not reason.strip() or len(reason) > 200:
        raise InvalidMovement("reason must be 1..200 characters")


async def _once(
    kind: EntryKind,
    ref: str,
    member_id: int,
    signed: int,
    connection: BaseDBAsyncClient | None,
    body: Callable[[BaseDBAsyncClient], Awaitable[LedgerEntry]],
) -> Movement:
    """Run `body` in its own transaction (or a savepoint of the caller's) at most once per ref."""
    first = await _first(kind, ref, member_id, signed, connection)
    if first is not None:
        return first
    try:
        if connection is None:
            async with in_transaction() as conn:
                entry = await body(conn)
        else:
            async with connection._in_transaction() as savepoint:
                entry = await body(savepoint)
    except IntegrityError:
        # A concurrent identical request committed first: answer with its movement.
        first = await _first(kind, ref, member_id, signed, connection)
        if first is None:
            raise
        return first
    return _movement(entry, replayed=False)


async def _credit_fast(
    member_id: int,
    points: int,
    kind: EntryKind,
    ref: str,
    reason: str,
    now: datetime,
    expires_at: datetime | None,
    actor_id: int | None,
) -> Movement | None:
    """The one-statement credit on PostgreSQL; None to take the general path."""
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        return None
    try:
        done = await credit_in_one_statement(
            conn,
            member_id=member_id,
            kind=kind,
            points=points,
            reason=reason,
            ref=ref,
            now=now,
            expires_at=expires_at,
            actor_id=actor_id,
        )
    except IntegrityError:
        first = await _first(kind, ref, member_id, points, None)
        if first is None:
            raise
        return first
    if done is None:
        return None
    entry_id, standing = done
    return Movement(
        entry_id, member_id, kind, points, standing.balance, standing.debt, ref, reason, now
    )


async def credit(
    member_id: int,
    points: int,
    *,
    kind: EntryKind,
    ref: str,
    reason: str,
    now: datetime,
    expires_at: datetime | None = None,
    connection: BaseDBAsyncClient | None = None,
    actor_id: int | None = None,
    claimed: bool = False,
) -> Movement:
    """Add points (a new lot expiring at `expires_at`, None: never). Debt is paid first.

    `claimed`: the caller's transaction (`connection`) has already made this credit happen once,
    by claiming what it pays for (a bottle code, by a conditional update): then the ref is not
    looked up first nor the credit wrapped in a savepoint (three round trips of a scan)."""
    _check(points, kind, CREDIT_KINDS, ref, reason)
    if claimed and connection is None:
        raise ValueError("a claimed credit runs in the transaction that claimed it")
    if connection is None:
        fast = await _credit_fast(member_id, points, kind, ref, reason, now, expires_at, actor_id)
        if fast is not None:
            return fast

    async def body(conn: BaseDBAsyncClient) -> LedgerEntry:
        standing = await add_without_debt(conn, member_id, points)
        added = points
        if standing is None:
            old = await lock_member(conn, member_id)
            paid, added = pay_debt(old.debt, points)
            new = Standing(old.balance + added, old.debt - paid)
            standing = await set_standing(conn, member_id, old, new)
        entry = await write_entry(
            conn,
            member_id=member_id,
            kind=kind,
            points=points,
            standing=standing,
            reason=reason,
            ref=ref,
            now=now,
            actor_id=actor_id,
        )
        await add_lot(conn, entry.id, member_id, added, now, expires_at)
        return entry

    if claimed and connection is not None:
        return _movement(await body(connection), replayed=False)
    return await _once(kind, ref, member_id, points, connection, body)


async def debit(
    member_id: int,
    points: int,
    *,
    kind: EntryKind,
    ref: str,
    reason: str,
    now: datetime,
    connection: BaseDBAsyncClient | None = None,
    actor_id: int | None = None,
) -> Movement:
    """Take points the balance covers, oldest lots first; else InsufficientPoints."""
    _check(points, kind, DEBIT_KINDS, ref, reason)

    async def body(conn: BaseDBAsyncClient) -> LedgerEntry:
        standing = await take_if_covered(conn, member_id, points)
        if standing is None:
            current = await lock_member(conn, member_id)
            raise InsufficientPoints(member_id, points, current.balance)
        entry = await write_entry(
            conn,
            member_id=member_id,
            kind=kind,
            points=-points,
            standing=standing,
            reason=reason,
            ref=ref,
            now=now,
            actor_id=actor_id,
        )
        await take_from_lots(conn, member_id, points, entry.id)
        return entry

    return await _once(kind, ref, member_id, -points, connection, body)


async def refund(
    member_id: int,
    points: int,
    *,
    ref: str,
    reason: str,
    now: datetime,
    spent_kind: EntryKind = EntryKind.REDEEM,
    expires_at: datetime | None = None,
    connection: BaseDBAsyncClient | None = None,
) -> Movement:
    """Give back points the spend `(spent_kind, ref)` took: a REFUND row with the same ref.

    The points go back to the lots the spend took them from (recorded as lot uses), so they keep
    those lots' expiry: redeeming and cancelling never makes points live longer. Debt is paid
    first, as by any credit, out of the soonest-expiring of those points. Points of a lot that has
    expired since (its date is not after `now`, or the expiry run has emptied it) are refunded and
    expired by the same movement: the REFUND row carries the whole amount and an EXPIRE row with
    the same ref takes the expired part, so the member's history says what happened, the ledger
    sums to the balance, the lots hold it, and the expiry run never sees those points (the lot
    itself is left as it is). Only a spend recorded before lot uses existed gets a new lot, for
    the part no use covers, expiring at `expires_at`.

    One refund per spend: a repeated ref returns the first movement and changes nothing. The
    movement returned is the REFUND row's (`balance_after` before any EXPIRE of the same ref).
    """
    _check(points, EntryKind.REFUND, frozenset({EntryKind.REFUND}), ref, reason)

    async def body(conn: BaseDBAsyncClient) -> LedgerEntry:
        old = await lock_member(conn, member_id)
        item = Refund(member_id, points, ref, reason)
        done = await refund_spends(
            conn, [item], {member_id: old}, now=now, expires_at=expires_at, spent_kind=spent_kind
        )
        return await LedgerEntry.filter(id=done[ref].entry_id).using_db(conn).get()

    return await _once(EntryKind.REFUND, ref, member_id, points, connection, body)


async def expired_on_refund(ref: str, connection: BaseDBAsyncClient | None = None) -> int:
    """Of the refund `ref`, the points that came back to lots expired since the spend and so
    expired at once (its EXPIRE row of the same ref); 0 when all came back alive."""
    query = LedgerEntry.filter(kind=EntryKind.EXPIRE, ref=ref)
    row = await (query.using_db(connection) if connection is not None else query).first()
    return -int(row.points) if row is not None else 0


async def reverse(
    member_id: int,
    points: int,
    *,
    ref: str,
    reason: str,
    now: datetime,
    prefer_entry: int | None = None,
    connection: BaseDBAsyncClient | None = None,
    actor_id: int | None = None,
) -> Movement:
    """Take back earned points (a return): what the balance lacks becomes debt.

    `prefer_entry` is the ledger entry whose lot is taken first (the purchase's own points).
    """
    _check(points, EntryKind.REVERSE, frozenset({EntryKind.REVERSE}), ref, reason)

    async def body(conn: BaseDBAsyncClient) -> LedgerEntry:
        old = await lock_member(conn, member_id)
        taken = min(old.balance, points)
        new = Standing(old.balance - taken, old.debt + points - taken)
        standing = await set_standing(conn, member_id, old, new)
        entry = await write_entry(
            conn,
            member_id=member_id,
            kind=EntryKind.REVERSE,
            points=-points,
            standing=standing,
            reason=reason,
            ref=ref,
            now=now,
            actor_id=actor_id,
        )
        await take_from_lots(conn, member_id, taken, entry.id, prefer_entry)
        return entry

    return await _once(EntryKind.REVERSE, ref, member_id, -points, connection, body)


async def adjust(
    member_id: int,
    points: int,
    reason: str,
    actor_id: int,
    now: datetime,
    *,
    ref: str | None = None,
    expires_at: datetime | None = None,
) -> Movement:
    """A staff correction with a reason; negative adjustments never take the balance below 0.

    `ref` (an idempotency key from the caller) makes a retried request harmless; without one
    each call is a new adjustment.
    """
    if not reason.strip():
        raise InvalidMovement("an adjustment needs a reason")
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidMovement("adjustment points must be a non-zero integer")
    key = f"adjust:{ref}" if ref else f"adjust:{uuid.uuid4().hex}"
    log.info("points adjustment member=%s points=%s actor=%s", member_id, points, actor_id)
    if points > 0:
        return await credit(
            member_id,
            points,
            kind=EntryKind.ADJUST,
            ref=key,
            reason=reason,
            now=now,
            expires_at=expires_at,
            actor_id=actor_id,
        )
    return await debit(
        member_id,
        -points,
        kind=EntryKind.ADJUST,
        ref=key,
        reason=reason,
        now=now,
        actor_id=actor_id,
    )


async def balance(member_id: int, now: datetime) -> BalanceView:
    """Balance, debt, and how many points expire next and on which day."""
    row = await Member.filter(id=member_id).values_list("points_balance", "points_debt")
    if not row:
        raise UnknownMember(member_id)
    points, day = await next_expiry(member_id, now)
    return BalanceView(member_id, int(row[0][0]), int(row[0][1]), points, day)
