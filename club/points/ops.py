"""Steps of a points movement inside one open transaction (used by `club.points.ledger`).

Every step takes the transaction's connection. The member row is always changed first, by one
conditional UPDATE: on PostgreSQL that also locks the row, so the lot reads and writes that follow
are serialised per member (lock order everywhere: purchase, member, lots). A batch job that
changes several members (the expiry run) locks them first, in id order (`lock_members`). SQLite
runs one transaction at a time per process anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from club.db.models.ledger import LedgerEntry, PointsLot, PointsLotUse
from club.db.raw import Params, dialect, rows
from club.rules.kinds import EntryKind
from club.rules.lots import Lot, allocate

_PARAM = re.compile(r"\$(\d+)")


class LedgerError(Exception):
    """A points movement cannot be made; nothing was changed."""


class InvalidMovement(LedgerError, ValueError):
    """Bad arguments (non-positive points, wrong kind, empty reason or ref)."""


class UnknownMember(LedgerError):
    def __init__(self, member_id: int) -> None:
        super().__init__(f"no member with id {member_id}")
        self.member_id = member_id


class InsufficientPoints(LedgerError):
    def __init__(self, member_id: int, needed: int, available: int) -> None:
        super().__init__(f"member {member_id} has {available} points, {needed} needed")
        self.member_id = member_id
        self.needed = needed
        self.available = available


@dataclass(frozen=True)
class Standing:
    balance: int
    debt: int


async def _rows(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Run SQL written with $1.. placeholders on either backend (SQLite reads them as ?1..)."""
    if conn.capabilities.dialect != "postgres":
        sql = _PARAM.sub(r"?\1", sql)
    return await conn.execute_query_dict(sql, values)


def _standing(rows: list[dict[str, Any]]) -> Standing | None:
    if not rows:
        return None
    return Standing(int(rows[0]["points_balance"]), int(rows[0]["points_debt"]))


async def lock_member(conn: BaseDBAsyncClient, member_id: int) -> Standing:
    """The member's balance and debt, with the row locked until the transaction ends."""
    sql = "SELECT points_balance, points_debt FROM member WHERE id = $1"
    if conn.capabilities.dialect == "postgres":
        sql = "SELECT points_balance, points_debt FROM member WHERE id = $1 FOR UPDATE"
    standing = _standing(await _rows(conn, sql, [member_id]))
    if standing is None:
        raise UnknownMember(member_id)
    return standing


async def lock_members(conn: BaseDBAsyncClient, member_ids: Sequence[int]) -> dict[int, Standing]:
    """Several members' balance and debt, their rows locked until the transaction ends, in id
    order: two callers never wait on each other, and a movement of one member (which locks only
    that member) waits at most for one batch."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    params = Params(dialect(conn))
    where = params.one_of("id", ids, "bigint")
    sql = f"SELECT id, points_balance, points_debt FROM member WHERE {where}"  # noqa: S608 (constant fragments, values bound)
    if params.postgres:
        sql += " ORDER BY id FOR UPDATE"
    found = await rows(sql, params.values, conn)
    return {int(r["id"]): Standing(int(r["points_balance"]), int(r["points_debt"])) for r in found}


async def add_without_debt(conn: BaseDBAsyncClient, member_id: int, points: int) -> Standing | None:
    """The common credit: one statement when the member owes nothing; None if they do."""
    sql = (
        "UPDATE member SET points_balance = points_balance + $1 "
        "WHERE id = $2 AND points_debt = 0 RETURNING points_balance, points_debt"
    )
    return _standing(await _rows(conn, sql, [points, member_id]))


async def take_if_covered(conn: BaseDBAsyncClient, member_id: int, points: int) -> Standing | None:
    """Take points only if the balance covers them; None if it does not (or no member)."""
    sql = (
        "UPDATE member SET points_balance = points_balance - $1 "
        "WHERE id = $2 AND points_balance >= $1 RETURNING points_balance, points_debt"
    )
    return _standing(await _rows(conn, sql, [points, member_id]))


async def set_standing(
    conn: BaseDBAsyncClient, member_id: int, old: Standing, new: Standing
) -> Standing:
    """Move balance and debt from `old` to `new`, only if nobody changed them in between."""
    sql = (
        "UPDATE member SET points_balance = $1, points_debt = $2 "
        "WHERE id = $3 AND points_balance = $4 AND points_debt = $5 "
        "RETURNING points_balance, points_debt"
    )
    values = [new.balance, new.debt, member_id, old.balance, old.debt]
    standing = _standing(await _rows(conn, sql, values))
    if standing is None:
        raise LedgerError(f"member {member_id} changed during the movement; retry")
    return standing


_SET_MANY_PG = """
UPDATE member SET points_balance = v.balance, points_debt = v.debt
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
    AS v(id, balance, debt, old_balance, old_debt)
WHERE member.id = v.id AND member.points_balance = v.old_balance
  AND member.points_debt = v.old_debt
"""


async def set_standings(
    conn: BaseDBAsyncClient, changes: dict[int, tuple[Standing, Standing]]
) -> None:
    """`set_standing` for several members ({member: (old, new)}): one statement on PostgreSQL."""
    if conn.capabilities.dialect != "postgres":
        for member_id, (old, new) in changes.items():
            await set_standing(conn, member_id, old, new)
        return
    ids = list(changes)
    values = [
        ids,
        [changes[m][1].balance for m in ids],
        [changes[m][1].debt for m in ids],
        [changes[m][0].balance for m in ids],
        [changes[m][0].debt for m in ids],
    ]
    changed, _ = await conn.execute_query(_SET_MANY_PG, values)
    if changed != len(ids):
        raise LedgerError("a member changed during the movement; retry")


async def take_from_lots(
    conn: BaseDBAsyncClient,
    member_id: int,
    points: int,
    entry_id: int,
    prefer_entry: int | None = None,
) -> list[tuple[int, int]]:
    """Reduce the member's lots by `points`, soonest-expiring first, and record what the movement
    `entry_id` took from each (a refund gives it back to the same lots). Returns (lot, points).
    """
    rows = (
        await PointsLot.filter(member_id=member_id, remaining__gt=0)
        .using_db(conn)
        .values_list("id", "remaining", "expires_at", "entry_id")
    )
    lots = [Lot(int(r[0]), int(r[1]), r[2]) for r in rows]
    prefer = next((int(r[0]) for r in rows if r[3] == prefer_entry), None)
    taken = allocate(lots, points, prefer)
    for lot_id, take in taken:
        changed = (
            await PointsLot.filter(id=lot_id, remaining__gte=take)
            .using_db(conn)
            .update(remaining=F("remaining") - take)
        )
        if changed != 1:
            raise LedgerError(f"points lot {lot_id} changed during the movement; retry")
    await record_uses(conn, [(entry_id, lot_id, take) for lot_id, take in taken])
    return taken


_EMPTY_PG = """
UPDATE points_lot SET remaining = 0
FROM unnest($1::bigint[], $2::bigint[]) AS v(id, remaining)
WHERE points_lot.id = v.id AND points_lot.remaining = v.remaining
"""


async def empty_lots(conn: BaseDBAsyncClient, lots: Sequence[tuple[int, int]]) -> None:
    """Empty each (lot, points it still holds): one statement on PostgreSQL. Refused if any lot
    holds other than that (the caller read them under the members' locks)."""
    if conn.capabilities.dialect == "postgres":
        values: list[Any] = [[lot for lot, _ in lots], [points for _, points in lots]]
        changed, _ = await conn.execute_query(_EMPTY_PG, values)
    else:
        changed = 0
        for lot_id, points in lots:
            changed += (
                await PointsLot.filter(id=lot_id, remaining=points)
                .using_db(conn)
                .update(remaining=0)
            )
    if changed != len(lots):
        raise LedgerError("a points lot changed during the expiry; retry")


async def record_uses(conn: BaseDBAsyncClient, uses: Sequence[tuple[int, int, int]]) -> None:
    """Record (movement entry, lot, points taken: negative when given back)."""
    rows = [PointsLotUse(entry_id=entry, lot_id=lot, points=n) for entry, lot, n in uses if n]
    if rows:
        await PointsLotUse.bulk_create(rows, using_db=conn)


def expiry_ref(lot_id: int) -> str:
    """The ledger ref of the EXPIRE movement that empties a lot (club.points.expiry writes it; a
    refund looks for it to know the lot has expired)."""
    return f"lot:{lot_id}"


async def lots_with_expiry(conn: BaseDBAsyncClient, lot_ids: Sequence[int]) -> set[int]:
    """Those of the lots that the expiry run has emptied (their EXPIRE row exists)."""
    refs = {expiry_ref(lot_id): lot_id for lot_id in lot_ids}
    found = (
        await LedgerEntry.filter(kind=EntryKind.EXPIRE, ref__in=list(refs))
        .using_db(conn)
        .values_list("ref")
    )
    return {refs[str(row[0])] for row in found}


async def write_entry(
    conn: BaseDBAsyncClient,
    *,
    member_id: int,
    kind: EntryKind,
    points: int,
    standing: Standing,
    reason: str,
    ref: str,
    now: datetime,
    actor_id: int | None,
) -> LedgerEntry:
    return await LedgerEntry.create(
        using_db=conn,
        member_id=member_id,
        kind=kind,
        points=points,
        balance_after=standing.balance,
        debt_after=standing.debt,
        reason=reason,
        ref=ref,
        actor_id=actor_id,
        created_at=now,
    )


@dataclass(frozen=True)
class NewEntry:
    member_id: int
    points: int
    standing: Standing
    """The member's balance and debt right after this row."""
    ref: str
    kind: EntryKind
    reason: str


_ENTRIES_PG = """
INSERT INTO ledger_entry
    (member_id, kind, points, balance_after, debt_after, reason, ref, actor_id, created_at)
SELECT v.member_id, v.kind, v.points, v.balance, v.debt, v.reason, v.ref, NULL, $1
FROM unnest($2::bigint[], $3::varchar[], $4::bigint[], $5::bigint[], $6::bigint[],
            $7::varchar[], $8::varchar[])
    WITH ORDINALITY AS v(member_id, kind, points, balance, debt, reason, ref, n)
ORDER BY v.n
RETURNING id, kind, ref
"""
"""In the given order, so that a member's rows' ids follow their running balance."""


async def write_entries(
    conn: BaseDBAsyncClient, entries: Sequence[NewEntry], *, now: datetime
) -> dict[tuple[str, str], int]:
    """Several ledger rows without an actor (a batch job's), in order: one statement on
    PostgreSQL. Each row's id by its (kind, ref). A (kind, ref) already written raises
    IntegrityError."""
    if not entries:
        return {}
    if conn.capabilities.dialect == "postgres":
        values: list[Any] = [
            now,
            [e.member_id for e in entries],
            [str(e.kind) for e in entries],
            [e.points for e in entries],
            [e.standing.balance for e in entries],
            [e.standing.debt for e in entries],
            [e.reason for e in entries],
            [e.ref for e in entries],
        ]
        written = await conn.execute_query_dict(_ENTRIES_PG, values)
    else:
        await LedgerEntry.bulk_create(
            [
                LedgerEntry(
                    member_id=e.member_id,
                    kind=e.kind,
                    points=e.points,
                    balance_after=e.standing.balance,
                    debt_after=e.standing.debt,
                    reason=e.reason,
                    ref=e.ref,
                    actor_id=None,
                    created_at=now,
                )
                for e in entries
            ],
            using_db=conn,
        )
        written = (
            await LedgerEntry.filter(ref__in=list({e.ref for e in entries}))
            .using_db(conn)
            .values("id", "kind", "ref")
        )
    ids = {(str(r["kind"]), str(r["ref"])): int(r["id"]) for r in written}
    return {(str(e.kind), e.ref): ids[(str(e.kind), e.ref)] for e in entries}


async def add_lot(
    conn: BaseDBAsyncClient,
    entry_id: int,
    member_id: int,
    points: int,
    now: datetime,
    expires_at: datetime | None,
) -> None:
    if points > 0:
        await PointsLot.create(
            using_db=conn,
            member_id=member_id,
            entry_id=entry_id,
            points=points,
            remaining=points,
            earned_at=now,
            expires_at=expires_at,
        )


# One statement for the common credit on PostgreSQL: the balance update (only when the member
# owes nothing), the ledger row and the lot, atomic without an explicit transaction. A fifth of
# the round trips of the step-by-step path, and the member's row lock is held for one statement.
_EARN_ONE_STATEMENT = """
WITH m AS (
    UPDATE member SET points_balance = points_balance + $1::bigint
    WHERE id = $2::bigint AND points_debt = 0
    RETURNING id, points_balance, points_debt
), e AS (
    INSERT INTO ledger_entry
        (member_id, kind, points, balance_after, debt_after, reason, ref, actor_id, created_at)
    SELECT m.id, $3::varchar, $1::bigint, m.points_balance, m.points_debt,
           $4::varchar, $5::varchar, $6::bigint, $7::timestamptz
    FROM m
    RETURNING id, balance_after, debt_after
), l AS (
    INSERT INTO points_lot (member_id, entry_id, points, remaining, earned_at, expires_at)
    SELECT $2::bigint, e.id, $1::bigint, $1::bigint, $7::timestamptz, $8::timestamptz FROM e
)
SELECT id, balance_after, debt_after FROM e
"""


async def credit_in_one_statement(
    conn: BaseDBAsyncClient,
    *,
    member_id: int,
    kind: EntryKind,
    points: int,
    reason: str,
    ref: str,
    now: datetime,
    expires_at: datetime | None,
    actor_id: int | None,
) -> tuple[int, Standing] | None:
    """(entry id, standing after) on PostgreSQL; None when the member is unknown or in debt
    (the caller then takes the step-by-step path). A repeated (kind, ref) raises IntegrityError
    and changes nothing."""
    values = [points, member_id, str(kind), reason, ref, actor_id, now, expires_at]
    rows = await conn.execute_query_dict(_EARN_ONE_STATEMENT, values)
    if not rows:
        return None
    row = rows[0]
    return int(row["id"]), Standing(int(row["balance_after"]), int(row["debt_after"]))
