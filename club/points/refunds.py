"""Refunds through the ledger: points a spend took go back to the lots they came from.

`refund_spends` gives back any number of spends inside the caller's transaction, their members
already locked: one member's refund (`ledger.refund`, a cancelled redemption) and a batch of
expired vouchers (`club.rewards.voucher_expiry`) both go through it. Each refund is a REFUND row
with the spend's ref; its points pay the debt first, then go back to the lots the spend took them
from (so they keep those lots' expiry, `club.rules.refunds.plan_refund`), and the points of a lot
that has expired since are expired by an EXPIRE row of the same ref. A batch writes its rows,
balances and lots a statement each on PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from club.db.models.ledger import LedgerEntry, PointsLotUse
from club.db.raw import rows
from club.points.ops import (
    InvalidMovement,
    LedgerError,
    NewEntry,
    Standing,
    add_lot,
    lots_with_expiry,
    record_uses,
    set_standings,
    write_entries,
)
from club.rules import reasons
from club.rules.kinds import EntryKind
from club.rules.refunds import RefundPlan, Use, plan_refund


@dataclass(frozen=True)
class Refund:
    """Give back `points` of the spend `ref` of `member_id`; `reason` is the REFUND row's."""

    member_id: int
    points: int
    ref: str
    reason: str


@dataclass(frozen=True)
class Refunded:
    entry_id: int
    """The REFUND row."""
    expired: int
    """Of its points, those that came back to lots expired since the spend and so expired at
    once (its EXPIRE row of the same ref); 0 when all came back alive."""


async def refund_spends(
    conn: BaseDBAsyncClient,
    refunds: Sequence[Refund],
    standings: dict[int, Standing],
    *,
    now: datetime,
    expires_at: datetime | None,
    spent_kind: EntryKind = EntryKind.REDEEM,
) -> dict[str, Refunded]:
    """Inside the open transaction, with every member of `refunds` locked (`standings`: their
    balance and debt as locked): each refund by its ref. A ref refunded before is answered as it
    was and changes nothing. `expires_at`: of a new lot for points no recorded lot use covers (a
    spend from before uses were recorded). InvalidMovement if a spend is not the member's or took
    fewer points; LedgerError if a balance or a lot disagrees with the books."""
    done = await _refunded(conn, [r.ref for r in refunds])
    todo = [r for r in refunds if r.ref not in done]
    if not todo:
        return done
    spends = await _spends(conn, todo, spent_kind)
    uses = await spent_from_lots(conn, [spend_id for spend_id, _ in spends.values()], now)
    after = dict(standings)
    entries: list[NewEntry] = []
    plans: list[tuple[Refund, RefundPlan]] = []
    for item in todo:
        spend_id, _ = spends[item.ref]
        old = after[item.member_id]
        plan = plan_refund(uses.get(spend_id, []), item.points, old.debt)
        refunded = Standing(old.balance + item.points - plan.to_debt, old.debt - plan.to_debt)
        after[item.member_id] = final = Standing(refunded.balance - plan.expire, refunded.debt)
        entries.append(
            NewEntry(item.member_id, item.points, refunded, item.ref, EntryKind.REFUND, item.reason)
        )
        if plan.expire:
            expired = reasons.write("expired")
            entries.append(
                NewEntry(item.member_id, -plan.expire, final, item.ref, EntryKind.EXPIRE, expired)
            )
        plans.append((item, plan))
    changed = {m: (standings[m], after[m]) for m in standings if after[m] != standings[m]}
    if changed:
        await set_standings(conn, changed)
    ids = await write_entries(conn, entries, now=now)
    answers = {}
    restores: list[tuple[int, int, int, int]] = []
    for item, plan in plans:
        entry_id = ids[(str(EntryKind.REFUND), item.ref)]
        restores += [(entry_id, item.member_id, lot, points) for lot, points in plan.restore]
        await add_lot(conn, entry_id, item.member_id, plan.new_lot, now, expires_at)
        answers[item.ref] = Refunded(entry_id, plan.expire)
    await restore_lots(conn, restores)
    return {**done, **answers}


async def _refunded(conn: BaseDBAsyncClient, refs: Sequence[str]) -> dict[str, Refunded]:
    """The refunds of these refs already in the ledger."""
    found = (
        await LedgerEntry.filter(kind__in=[EntryKind.REFUND, EntryKind.EXPIRE], ref__in=list(refs))
        .using_db(conn)
        .values_list("kind", "ref", "id", "points")
    )
    refunds = {str(ref): int(i) for kind, ref, i, _ in found if kind == EntryKind.REFUND}
    expired = {str(ref): -int(p) for kind, ref, _, p in found if kind == EntryKind.EXPIRE}
    return {ref: Refunded(i, expired.get(ref, 0)) for ref, i in refunds.items()}


async def _spends(
    conn: BaseDBAsyncClient, refunds: Sequence[Refund], spent_kind: EntryKind
) -> dict[str, tuple[int, int]]:
    """(entry id, points taken) of each refund's spend; InvalidMovement if one is missing, is
    another member's or took fewer points than the refund gives back."""
    found = (
        await LedgerEntry.filter(kind=spent_kind, ref__in=[r.ref for r in refunds])
        .using_db(conn)
        .values_list("ref", "id", "member_id", "points")
    )
    spends = {str(ref): (int(i), int(member), -int(points)) for ref, i, member, points in found}
    for item in refunds:
        spend = spends.get(item.ref)
        if spend is None or spend[1] != item.member_id:
            raise InvalidMovement(
                f"member {item.member_id} has no {spent_kind} {item.ref!r} to refund"
            )
        if item.points > spend[2]:
            raise InvalidMovement(
                f"{item.points} points is more than {spent_kind} {item.ref!r} took"
            )
    return {ref: (i, taken) for ref, (i, _, taken) in spends.items()}


async def spent_from_lots(
    conn: BaseDBAsyncClient, entry_ids: Sequence[int], now: datetime
) -> dict[int, list[Use]]:
    """What each movement of `entry_ids` took from each lot, and whether that lot has expired
    since.

    A lot counts as expired when its date is not after `now`, or when the expiry run has already
    emptied it (its EXPIRE row exists), so a refund never puts points into a lot the run is done
    with, whatever the clocks say.
    """
    found = (
        await PointsLotUse.filter(entry_id__in=list(entry_ids), points__gt=0)
        .using_db(conn)
        .values_list("entry_id", "lot_id", "points", "lot__expires_at")
    )
    if not found:
        return {}
    emptied = await lots_with_expiry(conn, [int(r[1]) for r in found])
    uses: dict[int, list[Use]] = defaultdict(list)
    for entry_id, lot_id, points, expires in found:  # type: ignore[misc]
        expired = (expires is not None and expires <= now) or int(lot_id) in emptied
        uses[int(entry_id)].append(Use(int(lot_id), int(points), expires, expired))
    return uses


_RESTORE_PG = """
UPDATE points_lot SET remaining = remaining + v.points
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, member_id, points)
WHERE points_lot.id = v.id AND points_lot.member_id = v.member_id
  AND points_lot.remaining + v.points <= points_lot.points
RETURNING points_lot.id
"""
_RESTORE_ONE = """
UPDATE points_lot SET remaining = remaining + $3
WHERE id = $1 AND member_id = $2 AND remaining + $3 <= points
RETURNING id
"""


async def restore_lots(
    conn: BaseDBAsyncClient, restores: Sequence[tuple[int, int, int, int]]
) -> None:
    """Give points back to lots, each never above its original points: (refund entry, member,
    lot, points). A lot changes by one conditional UPDATE (on PostgreSQL one for all of them).
    A lot that would end above its points means the books disagree with the recorded uses: the
    movement is refused rather than lose or invent points."""
    per_lot: dict[tuple[int, int], int] = defaultdict(int)
    for _, member_id, lot_id, points in restores:
        per_lot[(lot_id, member_id)] += points
    if not per_lot:
        return
    keys = sorted(per_lot)
    if conn.capabilities.dialect == "postgres":
        values: list[Any] = [[k[0] for k in keys], [k[1] for k in keys], [per_lot[k] for k in keys]]
        found = await rows(_RESTORE_PG, values, conn)
    else:
        found = []
        for lot_id, member_id in keys:
            found += await rows(
                _RESTORE_ONE, [lot_id, member_id, per_lot[(lot_id, member_id)]], conn
            )
    taken = {int(r["id"]) for r in found}
    for lot_id, member_id in keys:
        if lot_id not in taken:
            points = per_lot[(lot_id, member_id)]
            raise LedgerError(f"points lot {lot_id} cannot take {points} points back")
    await record_uses(conn, [(entry, lot, -points) for entry, _, lot, points in restores])
