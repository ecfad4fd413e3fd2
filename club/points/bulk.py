"""Bonus points for many members in one transaction: campaign awards and greeting gifts.

`credit_many` credits a batch of (member, points, ref, reason) in the caller's transaction (or
its own), each ref at most once ever (the ledger's unique (kind, ref)): a batch run again after
a crash gives the rest and nothing twice, and two runs at once give each ref once (the insert
waits for the other transaction's row and leaves it). On PostgreSQL the members who owe nothing
(nearly everyone) are credited by two statements for the whole batch: the ledger rows, balances
and lots, then each row's balance after. Members in debt, a member's second item of a batch,
and every member on SQLite, go through the ledger's own `credit` (debt paid first), as
savepoints of the same transaction. The ledger's invariants hold either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from club.db import tx
from club.db.raw import dialect, rows
from club.points import ledger
from club.points.ops import lock_members
from club.rules.kinds import EntryKind


@dataclass(frozen=True)
class Credit:
    member_id: int
    points: int
    ref: str
    reason: str


_BATCH_PG = """
WITH v AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::varchar[], $4::varchar[])
        AS v(member_id, points, ref, reason)
), e AS (
    INSERT INTO ledger_entry
        (member_id, kind, points, balance_after, debt_after, reason, ref, actor_id, created_at)
    SELECT v.member_id, $5, v.points, 0, 0, v.reason, v.ref, NULL, $6
    FROM v JOIN member d ON d.id = v.member_id AND d.points_debt = 0
    ON CONFLICT (kind, ref) DO NOTHING
    RETURNING id, member_id, points, ref
), m AS (
    UPDATE member SET points_balance = member.points_balance + e.points
    FROM e WHERE member.id = e.member_id
    RETURNING member.id, member.points_balance, member.points_debt
), l AS (
    INSERT INTO points_lot (member_id, entry_id, points, remaining, earned_at, expires_at)
    SELECT e.member_id, e.id, e.points, e.points, $6, $7 FROM e
)
SELECT e.id, e.ref, m.points_balance, m.points_debt FROM e JOIN m ON m.id = e.member_id
"""
"""The entries it wrote, with the balance after. A ref already in the ledger is left out; so are
members in debt (their credit pays the debt first: `ledger.credit`). A statement cannot update
a row it inserts, so each entry's balance after is set by `_BALANCES`."""

_BALANCES = """
UPDATE ledger_entry SET balance_after = v.b, debt_after = v.d
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, b, d)
WHERE ledger_entry.id = v.id
"""
_PRESENT = "SELECT ref FROM ledger_entry WHERE kind = $1 AND ref = ANY($2::varchar[])"


async def credit_many(
    credits: Sequence[Credit],
    *,
    now: datetime,
    expires_at: datetime | None,
    kind: EntryKind = EntryKind.BONUS,
    connection: BaseDBAsyncClient | None = None,
) -> int:
    """Credit every item not credited before; the points credited by this call."""
    if not credits:
        return 0
    if connection is None:
        async with tx.transaction() as conn:
            return await _credit_all(credits, now, expires_at, kind, conn)
    return await _credit_all(credits, now, expires_at, kind, connection)


async def _credit_all(
    credits: Sequence[Credit],
    now: datetime,
    expires_at: datetime | None,
    kind: EntryKind,
    conn: BaseDBAsyncClient,
) -> int:
    done: set[str] = set()
    given = 0
    if dialect(conn) == "postgres":
        # The batch's members are locked first, in id order, as every batch of the ledger locks
        # them (expiry's included): the bulk UPDATE below takes its rows in the plan's order, and
        # two batches taking the same members in different orders deadlock.
        await lock_members(conn, [c.member_id for c in credits])
        done, given = await _credit_batch(credits, now, expires_at, kind, conn)
    for item in credits:
        if item.ref in done:
            continue
        movement = await ledger.credit(
            item.member_id,
            item.points,
            kind=kind,
            ref=item.ref,
            reason=item.reason[:200],
            now=now,
            expires_at=expires_at,
            connection=conn,
        )
        given += 0 if movement.replayed else item.points
    return given


async def _credit_batch(
    credits: Sequence[Credit],
    now: datetime,
    expires_at: datetime | None,
    kind: EntryKind,
    conn: BaseDBAsyncClient,
) -> tuple[set[str], int]:
    """(the refs now in the ledger, points this call credited)."""
    # One item per member here (an UPDATE joined to two rows of one member would add only one
    # of them); a member's further items take the general path.
    first: dict[int, Credit] = {}
    for item in credits:
        first.setdefault(item.member_id, item)
    fast = list(first.values())
    values: list[Any] = [
        [c.member_id for c in fast],
        [c.points for c in fast],
        [c.ref for c in fast],
        [c.reason[:200] for c in fast],
        str(kind),
        now,
        expires_at,
    ]
    found = await rows(_BATCH_PG, values, conn)
    if found:
        balances = [
            [int(r["id"]) for r in found],
            [int(r["points_balance"]) for r in found],
            [int(r["points_debt"]) for r in found],
        ]
        await rows(_BALANCES, balances, conn)
    credited = {str(r["ref"]) for r in found}
    given = sum(c.points for c in fast if c.ref in credited)
    if len(credited) == len(fast):  # all written now (as nearly always): no need to look
        return credited, given
    present = await rows(_PRESENT, [str(kind), [c.ref for c in fast]], conn)
    return {str(r["ref"]) for r in present}, given
