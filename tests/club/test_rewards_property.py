"""Random sequences of earning, redeeming, cancelling and expiring keep the books and the stock
exact, and a cancellation gives points back only to the lots they came from while still valid."""

from __future__ import annotations

import contextlib
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import LedgerEntry, PointsLot
from club.db.models.members import Member
from club.members.enrolment import complete_enrolment, get_or_create_member, record_consent
from club.points import ledger as points
from club.points.expiry import expire_due
from club.programme import load_programme
from club.rewards.redemptions import RedemptionRefused, cancel_redemption, create_reward, redeem
from club.rules.kinds import EntryKind
from tests.club.ledger_support import assert_lots_explained

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
PROGRAMME = load_programme(None)
STOCKS = (3, None)
EXAMPLES = itertools.count()

steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 120)),
        st.tuples(st.just("earn_expiring"), st.integers(1, 120)),
        st.tuples(st.just("redeem"), st.integers(0, len(STOCKS) - 1)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.integers(1, 30)),
        st.tuples(st.just("expire"), st.just(0)),
    ),
    max_size=20,
)


async def check_books(member_id: int, initial: dict[int, int | None]) -> None:
    member = await Member.get(id=member_id)
    assert member.points_balance >= 0
    entries = await LedgerEntry.filter(member_id=member_id)
    assert sum(e.points for e in entries) == member.points_balance - member.points_debt
    lots = await PointsLot.filter(member_id=member_id)
    assert sum(lot.remaining for lot in lots) == member.points_balance
    assert all(0 <= lot.remaining <= lot.points for lot in lots)
    await assert_lots_explained(member_id)
    for reward_id, stock in initial.items():
        reward = await Reward.get(id=reward_id)
        held = await Redemption.filter(reward_id=reward_id, status=RedemptionStatus.ACTIVE).count()
        if stock is None:
            assert reward.stock is None
        else:
            assert reward.stock is not None and reward.stock >= 0
            assert reward.stock + held == stock


async def lots_of(member_id: int) -> dict[int, tuple[int, datetime | None]]:
    return {
        lot.id: (lot.remaining, lot.expires_at)
        for lot in await PointsLot.filter(member_id=member_id)
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
async def test_sequences_keep_balance_ledger_lots_and_stock_consistent(
    db: None, sequence: list[tuple[str, int]]
) -> None:
    # Each example has its own member and rewards (no truncating between examples).
    now = START
    member = await get_or_create_member(f"oPROP{next(EXAMPLES)}", now)
    await record_consent(member.id, now, PROGRAMME)
    await complete_enrolment(member.id, "13812345678", None, now, PROGRAMME)
    rewards = [
        await create_reward(f"r{i}", 70, now, PROGRAMME, stock=stock, cancel_window_hours=48)
        for i, stock in enumerate(STOCKS)
    ]
    initial = {r.id: r.stock for r in rewards}
    made: list[int] = []
    for n, (op, arg) in enumerate(sequence):
        if op == "earn":
            await points.credit(
                member.id, arg, kind=EntryKind.BONUS, ref=f"{member.id}:p{n}", reason="p", now=now
            )
        elif op == "redeem":
            with contextlib.suppress(RedemptionRefused):
                ref = f"{member.id}:q{n}"
                made.append((await redeem(member.id, rewards[arg].id, now, ref, PROGRAMME)).id)
        elif op == "earn_expiring":
            # Lots that expire within the 48-hour cancel window, by the hour.
            await points.credit(
                member.id, arg, kind=EntryKind.BONUS, ref=f"{member.id}:x{n}", reason="x",
                now=now, expires_at=now + timedelta(hours=1 + arg % 40),
            )  # fmt: skip
        elif op == "cancel" and made:
            before = await lots_of(member.id)
            lot_count = len(before)
            with contextlib.suppress(RedemptionRefused):
                await cancel_redemption(made[arg % len(made)], now, PROGRAMME)
            after = await lots_of(member.id)
            assert len(after) == lot_count  # never a new lot
            for lot_id, (remaining, expires) in after.items():
                assert remaining >= before[lot_id][0]
                if expires is not None and expires <= now:
                    assert remaining == before[lot_id][0]
        elif op == "expire":
            await expire_due(now)
        elif op == "wait":
            now += timedelta(hours=arg)
        await check_books(member.id, initial)
