"""The points ledger: credit, debit, reverse, adjust, balance; idempotency; invariants."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from club.db.models.ledger import LedgerEntry, PointsLot
from club.points import ledger as points
from club.points.ledger import (
    EntryKind,
    InsufficientPoints,
    InvalidMovement,
    RefConflict,
    UnknownMember,
)
from tests.club.ledger_support import NOW, TZ, assert_consistent, make_member, standing

pytestmark = pytest.mark.usefixtures("db")

END_2027 = datetime(2028, 1, 1, tzinfo=TZ)


async def earn(
    member: int, pts: int, ref: str, expires: datetime | None = END_2027
) -> points.Movement:
    return await points.credit(
        member, pts, kind=EntryKind.EARN, ref=ref, reason="购买", now=NOW, expires_at=expires
    )


async def test_credit_then_repeat_returns_first_and_changes_nothing() -> None:
    m = await make_member()
    first = await earn(m, 100, "order:1")
    again = await earn(m, 100, "order:1")
    assert first == again and again.replayed and not first.replayed
    assert first.points == 100 and first.balance_after == 100
    assert await standing(m) == (100, 0)
    assert await LedgerEntry.filter(member_id=m).count() == 1
    assert await PointsLot.filter(member_id=m).count() == 1
    await assert_consistent(m)


async def test_same_ref_for_another_member_or_amount_is_refused() -> None:
    a, b = await make_member(1), await make_member(2)
    await earn(a, 100, "order:1")
    with pytest.raises(RefConflict):
        await earn(b, 100, "order:1")
    with pytest.raises(RefConflict):
        await earn(a, 99, "order:1")
    assert await standing(b) == (0, 0)


async def test_same_ref_under_another_kind_is_a_different_movement() -> None:
    m = await make_member()
    await earn(m, 10, "x")
    await points.credit(m, 5, kind=EntryKind.BONUS, ref="x", reason="礼", now=NOW)
    assert await standing(m) == (15, 0)


async def test_debit_takes_soonest_expiring_lots_first_and_never_below_zero() -> None:
    m = await make_member()
    await earn(m, 50, "late", expires=datetime(2029, 1, 1, tzinfo=TZ))
    await earn(m, 30, "soon", expires=datetime(2027, 1, 1, tzinfo=TZ))
    await earn(m, 20, "never", expires=None)
    moved = await points.debit(m, 40, kind=EntryKind.REDEEM, ref="r1", reason="兑换", now=NOW)
    assert moved.points == -40 and moved.balance_after == 60
    lots = {lot.points: lot.remaining for lot in await PointsLot.filter(member_id=m)}
    assert lots == {30: 0, 50: 40, 20: 20}
    with pytest.raises(InsufficientPoints) as caught:
        await points.debit(m, 61, kind=EntryKind.REDEEM, ref="r2", reason="兑换", now=NOW)
    assert caught.value.available == 60 and caught.value.needed == 61
    assert await LedgerEntry.filter(ref="r2").count() == 0
    await assert_consistent(m)


async def test_reverse_beyond_balance_becomes_debt_paid_first_by_later_earnings() -> None:
    m = await make_member()
    await earn(m, 100, "order:1")
    await points.debit(m, 80, kind=EntryKind.REDEEM, ref="r", reason="兑换", now=NOW)
    moved = await points.reverse(m, 100, ref="return:1", reason="退货", now=NOW)
    assert (moved.balance_after, moved.debt_after) == (0, 80)
    await assert_consistent(m)
    later = await earn(m, 50, "order:2")
    assert (later.balance_after, later.debt_after) == (0, 30)
    await assert_consistent(m)
    last = await earn(m, 50, "order:3")
    assert (last.balance_after, last.debt_after) == (20, 0)
    lot = await PointsLot.get(member_id=m, entry_id=last.entry_id)
    assert lot.remaining == 20
    await assert_consistent(m)


async def test_reverse_prefers_the_purchase_lot() -> None:
    m = await make_member()
    await earn(m, 10, "a", expires=datetime(2027, 1, 1, tzinfo=TZ))
    own = await earn(m, 30, "b", expires=datetime(2029, 1, 1, tzinfo=TZ))
    await points.reverse(m, 20, ref="ret:b", reason="退货", now=NOW, prefer_entry=own.entry_id)
    lots = {lot.points: lot.remaining for lot in await PointsLot.filter(member_id=m)}
    assert lots == {10: 10, 30: 10}
    await assert_consistent(m)


async def test_adjust_both_ways_with_reason_and_actor() -> None:
    m = await make_member()
    up = await points.adjust(m, 25, "补录积分", actor_id=7, now=NOW, ref="req-1")
    assert up.kind is EntryKind.ADJUST and up.balance_after == 25
    assert await points.adjust(m, 25, "补录积分", actor_id=7, now=NOW, ref="req-1") == up
    down = await points.adjust(m, -5, "更正", actor_id=7, now=NOW)
    assert down.points == -5 and down.balance_after == 20
    entry = await LedgerEntry.get(id=down.entry_id)
    assert entry.actor_id == 7 and entry.reason == "更正"
    with pytest.raises(InsufficientPoints):
        await points.adjust(m, -21, "更正", actor_id=7, now=NOW)
    with pytest.raises(InvalidMovement):
        await points.adjust(m, 5, "  ", actor_id=7, now=NOW)
    with pytest.raises(InvalidMovement):
        await points.adjust(m, 0, "零", actor_id=7, now=NOW)
    await assert_consistent(m)


@pytest.mark.parametrize("bad", [0, -3, True])
async def test_bad_points_are_refused(bad: int) -> None:
    m = await make_member()
    with pytest.raises(InvalidMovement):
        await earn(m, bad, "o")
    with pytest.raises(InvalidMovement):
        await points.debit(m, bad, kind=EntryKind.REDEEM, ref="r", reason="x", now=NOW)


async def test_wrong_kind_and_unknown_member() -> None:
    m = await make_member()
    with pytest.raises(InvalidMovement):
        await points.credit(m, 5, kind=EntryKind.REDEEM, ref="r", reason="x", now=NOW)
    with pytest.raises(InvalidMovement):
        await points.debit(m, 5, kind=EntryKind.EARN, ref="r", reason="x", now=NOW)
    with pytest.raises(UnknownMember):
        await earn(m + 999, 5, "o")
    with pytest.raises(UnknownMember):
        await points.balance(m + 999, NOW)
    assert await LedgerEntry.all().count() == 0


async def test_credit_joins_the_callers_transaction() -> None:
    from tortoise.transactions import in_transaction

    m = await make_member()
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await points.credit(
                m, 9, kind=EntryKind.BONUS, ref="b", reason="x", now=NOW, connection=conn
            )
            raise RuntimeError("the caller's other step failed")
    assert await standing(m) == (0, 0)
    async with in_transaction() as conn:
        first = await points.credit(
            m, 9, kind=EntryKind.BONUS, ref="b", reason="x", now=NOW, connection=conn
        )
        again = await points.credit(
            m, 9, kind=EntryKind.BONUS, ref="b", reason="x", now=NOW, connection=conn
        )
    assert first == again and await standing(m) == (9, 0)


async def test_a_claimed_credit_runs_in_its_claimers_transaction_only() -> None:
    """A bottle code's credit, made once-only by the code's claim, is written in the claim's
    transaction (no lookup of its ref, no savepoint): undone with it, and refused outside one."""
    from tortoise.transactions import in_transaction

    m = await make_member()
    with pytest.raises(ValueError, match="transaction that claimed it"):
        await points.credit(m, 9, kind=EntryKind.BONUS, ref="c", reason="x", now=NOW, claimed=True)
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await points.credit(
                m, 9, kind=EntryKind.BONUS, ref="c", reason="x", now=NOW, connection=conn,
                claimed=True,
            )  # fmt: skip
            raise RuntimeError("the claim's other step failed")
    assert await standing(m) == (0, 0)
    async with in_transaction() as conn:
        done = await points.credit(
            m, 9, kind=EntryKind.BONUS, ref="c", reason="x", now=NOW, connection=conn, claimed=True
        )
    assert (done.balance_after, done.replayed) == (9, False) and await standing(m) == (9, 0)
    await assert_consistent(m)


async def test_balance_view_shows_next_expiry() -> None:
    m = await make_member()
    await earn(m, 30, "a", expires=datetime(2027, 1, 1, tzinfo=TZ))
    await earn(m, 12, "b", expires=datetime(2027, 1, 1, tzinfo=TZ))
    await earn(m, 50, "c", expires=datetime(2028, 1, 1, tzinfo=TZ))
    view = await points.balance(m, NOW)
    assert (view.balance, view.debt) == (92, 0)
    assert (view.next_expiry_points, view.next_expiry_on) == (42, date(2026, 12, 31))
    later = await points.balance(m, datetime(2027, 1, 1, tzinfo=TZ) + timedelta(hours=1))
    assert (later.next_expiry_points, later.next_expiry_on) == (50, date(2027, 12, 31))


# --- concurrency on the real PostgreSQL -------------------------------------------------------


@pytest.mark.usefixtures("pg_only")
async def test_200_concurrent_earns_on_one_member_sum_exactly() -> None:
    m = await make_member()
    await asyncio.gather(*(earn(m, 3, f"order:{i}") for i in range(200)))
    assert await standing(m) == (600, 0)
    await assert_consistent(m)


@pytest.mark.usefixtures("pg_only")
async def test_200_debits_of_one_against_50_take_exactly_50() -> None:
    m = await make_member()
    await earn(m, 50, "seed")

    async def spend(i: int) -> bool:
        try:
            await points.debit(m, 1, kind=EntryKind.REDEEM, ref=f"r:{i}", reason="x", now=NOW)
        except InsufficientPoints:
            return False
        return True

    results = await asyncio.gather(*(spend(i) for i in range(200)))
    assert sum(results) == 50
    assert await standing(m) == (0, 0)
    await assert_consistent(m)


@pytest.mark.usefixtures("pg_only")
async def test_same_ref_20_times_at_once_credits_once() -> None:
    m = await make_member()
    answers = await asyncio.gather(*(earn(m, 40, "order:same") for _ in range(20)))
    assert len(set(answers)) == 1
    assert sum(not a.replayed for a in answers) == 1
    assert await standing(m) == (40, 0)
    await assert_consistent(m)


@pytest.mark.usefixtures("pg_only")
async def test_concurrent_reversals_and_earnings_keep_the_invariants() -> None:
    m = await make_member()
    await earn(m, 100, "seed")
    jobs = [points.reverse(m, 7, ref=f"ret:{i}", reason="退货", now=NOW) for i in range(30)]
    jobs += [earn(m, 5, f"o:{i}") for i in range(30)]
    await asyncio.gather(*jobs)
    balance, debt = await standing(m)
    assert balance - debt == 100 - 210 + 150
    await assert_consistent(m)
