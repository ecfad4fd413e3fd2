"""Property tests: random sequences of earn, spend, purchase, return, adjust and expiry keep
the ledger's invariants (ledger sum == balance - debt, balance >= 0, debt >= 0, lots == balance).
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from club import points
from club.db.models.ledger import LedgerEntry
from club.expiry import expire_due
from club.points import EntryKind, InsufficientPoints
from club.programme import load_programme
from club.purchases import ReturnExceedsPurchase, record_purchase, record_return
from tests.club.ledger_support import NOW, assert_consistent, make_member, standing

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
    ),
    min_size=1,
    max_size=25,
)


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
    n = next(_members)
    m = await make_member(n)
    now = NOW
    orders: list[tuple[str, int]] = []
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
        elif op == "advance":
            now += timedelta(days=a)
            # The run covers every member of earlier examples too: count only this one's.
            before = await _expired(m)
            await expire_due(now)
            expected_net -= await _expired(m) - before
        await assert_consistent(m)
        balance, debt = await standing(m)
        assert balance - debt == expected_net
