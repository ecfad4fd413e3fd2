"""Property tests: random sequences of earn, spend, purchase, return, adjust, refund and expiry
keep the ledger's invariants (ledger sum == balance - debt, balance >= 0, debt >= 0,
lots == balance, no lot above its points, every lot's remaining explained by its uses and expiry),
and a refund puts points only back into lots still valid, never into a new lot.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from club.db.models.ledger import LedgerEntry, PointsLot
from club.points import ledger as points
from club.points.expiry import expire_due
from club.points.ledger import EntryKind, InsufficientPoints
from club.programme import load_programme
from club.sales.purchases import ReturnExceedsPurchase, record_purchase, record_return
from tests.club.ledger_support import (
    NOW,
    assert_consistent,
    assert_lots_explained,
    make_member,
    standing,
)

PROGRAMME = load_programme(None)
_members = itertools.count(1)

Op = tuple[str, int, int]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 300), st.sampled_from([0, 5, 40, 400])),
        st.tuples(st.just("spend"), st.integers(1, 400), st.just(0)),
        st.tuples(st.just("buy"), st.integers(50, 200_000), st.just(0)),
        st.tuples(st.just("return"), st.integers(0, 10), st.integers(1, 4)),
        st.tuples(st.just("adjust"), st.integers(-100, 100).filter(bool), st.just(0)),
        st.tuples(st.just("advance"), st.integers(0, 120), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 10), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)
# Short-lived lots, small spends, returns and refunds close together: spends that span lots,
# lots that expire between a spend and its refund, refunds while in debt.
refund_ops = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 60), st.sampled_from([0, 1, 2, 3])),
        st.tuples(st.just("spend"), st.integers(1, 90), st.just(0)),
        st.tuples(st.just("buy"), st.integers(1_000, 20_000), st.just(0)),
        st.tuples(st.just("return"), st.integers(0, 10), st.integers(1, 4)),
        st.tuples(st.just("advance"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 10), st.just(0)),
        st.tuples(st.just("refund"), st.just(-1), st.just(0)),
    ),
    min_size=10,
    max_size=30,
)


async def _lots(member_id: int, now: datetime) -> dict[int, tuple[int, bool]]:
    """Each lot's remaining points, and whether its date has passed."""
    return {
        lot.id: (lot.remaining, lot.expires_at is not None and lot.expires_at <= now)
        for lot in await PointsLot.filter(member_id=member_id)
    }


async def _expired(member_id: int) -> int:
    rows = await LedgerEntry.filter(member_id=member_id, kind=EntryKind.EXPIRE)
    return -sum(int(e.points) for e in rows)


@pytest.mark.usefixtures("db")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=ops)
async def test_random_sequences_keep_the_invariants(sequence: list[Op]) -> None:
    await _run(sequence)


@pytest.mark.usefixtures("db")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=refund_ops)
async def test_refunds_give_points_back_only_to_lots_still_valid(sequence: list[Op]) -> None:
    await _run(sequence)


async def _run(sequence: list[Op]) -> None:
    n = next(_members)
    m = await make_member(n)
    now = NOW
    orders: list[tuple[str, int]] = []
    spends: list[tuple[str, int]] = []
    expected_net = 0
    for step, (op, a, b) in enumerate(sequence):
        ref = f"{n}:{step}"
        if op == "earn":
            until = now + timedelta(days=b) if b else None
            moved = await points.credit(
                m, a, kind=EntryKind.EARN, ref=ref, reason="e", now=now, expires_at=until
            )
            expected_net += moved.points
        elif op == "spend":
            balance, _debt = await standing(m)
            try:
                moved = await points.debit(
                    m, a, kind=EntryKind.REDEEM, ref=ref, reason="s", now=now
                )
            except InsufficientPoints:
                assert a > balance
            else:
                assert a <= balance
                expected_net += moved.points
                spends.append((ref, a))
        elif op == "buy":
            result = await record_purchase(
                member_id=m, order_id=f"o{ref}", amount_fen=a, now=now, programme=PROGRAMME
            )
            orders.append((f"o{ref}", a))
            expected_net += result.points_earned
        elif op == "return" and orders:
            order_id, amount = orders[a % len(orders)]
            try:
                back = await record_return(order_id, max(1, amount * b // 4), now=now, ref=ref)
            except ReturnExceedsPurchase:
                pass
            else:
                expected_net -= back.points_reversed
        elif op == "adjust":
            try:
                moved = await points.adjust(m, a, "调整", actor_id=1, now=now, ref=ref)
            except InsufficientPoints:
                assert a < 0
            else:
                expected_net += moved.points
        elif op == "refund" and spends:
            spent_ref, spent = spends[a % len(spends)]  # -1: the latest
            before, (was, owed) = await _lots(m, now), await standing(m)
            moved = await points.refund(m, spent, ref=spent_ref, reason="r", now=now)
            after, (balance, _debt) = await _lots(m, now), await standing(m)
            # No new lot, nothing goes back into a lot whose date has passed, and the lots
            # gain exactly what the balance gained.
            assert after.keys() == before.keys()
            for lot_id, (remaining, expired) in after.items():
                assert remaining >= before[lot_id][0]
                assert remaining == before[lot_id][0] or not expired
            assert sum(after[i][0] - before[i][0] for i in after) == balance - was
            if moved.replayed:
                assert after == before
                event("refund replayed")
            else:
                expired_now = await LedgerEntry.filter(kind=EntryKind.EXPIRE, ref=spent_ref)
                expected_net += moved.points + sum(e.points for e in expired_now)
                event("refund with an expired part" if expired_now else "refund")
                if moved.debt_after < owed:
                    event("refund paid debt")
        elif op == "advance":
            now += timedelta(days=a)
            # The run covers every member of earlier examples too: count only this one's.
            before = await _expired(m)
            await expire_due(now)
            expected_net -= await _expired(m) - before
        await assert_consistent(m)
        await assert_lots_explained(m)
        balance, debt = await standing(m)
        assert balance - debt == expected_net
