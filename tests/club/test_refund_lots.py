"""A cancelled redemption gives its points back to the lots they were taken from.

The refund keeps each lot's own expiry (a fresh lot would let a member redeem and cancel to make
points that expire tomorrow live another year). Points of a lot that has expired since are
refunded and expired in the same movement.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from club.db.models.ledger import LedgerEntry, PointsLot, PointsLotUse
from club.db.models.outbox import OutboxMessage
from club.messaging.outbox import Outbox
from club.points import ledger as points
from club.points.expiry import expire_due
from club.points.ledger import EntryKind, InvalidMovement
from club.programme import Programme, load_programme
from club.rewards.redemptions import (
    RedemptionRefused,
    Refusal,
    cancel_redemption,
    create_reward,
    redeem,
)
from club.rewards.voucher_expiry import expire_vouchers
from club.rewards.vouchers import cancel_voucher
from club.rules.refunds import Use, plan_refund
from club.sales.purchases import record_purchase, record_return
from tests.club.ledger_support import (
    NOW,
    assert_consistent,
    assert_lots_explained,
    earn,
    make_member,
    standing,
)

YEAR = NOW + timedelta(days=365)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def lots(member: int) -> dict[int, tuple[int, datetime | None]]:
    return {
        lot.id: (lot.remaining, lot.expires_at)
        for lot in await PointsLot.filter(member_id=member).order_by("id")
    }


async def uses_of(ref: str, kind: EntryKind) -> dict[int, int]:
    entry = await LedgerEntry.get(kind=kind, ref=ref)
    return {u.lot_id: u.points for u in await PointsLotUse.filter(entry_id=entry.id)}


async def test_cancel_gives_the_points_back_to_the_lot_with_its_own_expiry(
    db: None, programme: Programme
) -> None:
    member = await make_member()
    soon = await earn(member, 100, "e-soon", NOW + timedelta(days=3))
    reward = await create_reward("酒杯", 80, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)
    assert (await PointsLot.get(id=soon)).remaining == 20
    assert await uses_of(f"redemption:{done.id}", EntryKind.REDEEM) == {soon: 80}

    back = await cancel_redemption(done.id, NOW + timedelta(hours=1), programme)

    assert back.balance == 100
    assert await lots(member) == {soon: (100, NOW + timedelta(days=3))}
    refund = await LedgerEntry.get(kind=EntryKind.REFUND, ref=f"redemption:{done.id}")
    assert refund.points == 80 and refund.balance_after == 100
    assert await LedgerEntry.filter(kind=EntryKind.EXPIRE).count() == 0
    await assert_consistent(member)

    # They still expire on the lot's own date.
    run = await expire_due(NOW + timedelta(days=3))
    assert run.points == 100
    assert await standing(member) == (0, 0)
    await assert_consistent(member)


async def test_a_redemption_spanning_two_lots_restores_each_by_what_it_gave(
    db: None, programme: Programme
) -> None:
    member = await make_member()
    soon = await earn(member, 50, "e-soon", NOW + timedelta(days=3))
    later = await earn(member, 100, "e-later", YEAR)
    never = await earn(member, 10, "e-never", None)
    reward = await create_reward("酒杯", 80, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)
    assert await uses_of(f"redemption:{done.id}", EntryKind.REDEEM) == {soon: 50, later: 30}
    assert (await lots(member))[later][0] == 70

    await cancel_redemption(done.id, NOW + timedelta(hours=1), programme)

    assert await lots(member) == {
        soon: (50, NOW + timedelta(days=3)),
        later: (100, YEAR),
        never: (10, None),
    }
    assert await standing(member) == (160, 0)
    await assert_consistent(member)


async def test_points_of_a_lot_expired_since_are_refunded_and_expired_in_one_movement(
    db: None, programme: Programme
) -> None:
    member = await make_member()
    soon = await earn(member, 50, "e-soon", NOW + timedelta(hours=2))
    later = await earn(member, 100, "e-later", YEAR)
    reward = await create_reward("酒杯", 80, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)
    ref = f"redemption:{done.id}"

    # The expiry run has not been yet: the lot is past its date all the same.
    back = await cancel_redemption(done.id, NOW + timedelta(hours=3), programme)

    assert back.balance == 100
    assert await standing(member) == (100, 0)
    assert await lots(member) == {soon: (0, NOW + timedelta(hours=2)), later: (100, YEAR)}
    assert (await LedgerEntry.get(kind=EntryKind.REFUND, ref=ref)).points == 80
    expired = await LedgerEntry.get(kind=EntryKind.EXPIRE, ref=ref)
    assert (expired.points, expired.balance_after) == (-50, 100)
    await assert_consistent(member)
    assert (await expire_due(NOW + timedelta(hours=3))).points == 0

    again = await cancel_redemption(done.id, NOW + timedelta(hours=4), programme)
    assert again.balance == 100
    assert await standing(member) == (100, 0)
    assert await LedgerEntry.filter(member_id=member).count() == 5


async def test_an_expired_voucher_tells_only_the_points_that_came_back_alive(
    db: None, programme: Programme
) -> None:
    """Its points go back to their lots; of a lot expired since the redemption they expire at
    once. The member was told (and the daily run counted) them all as returned, though their
    balance did not show them."""
    member = await make_member()
    soon = await earn(member, 50, "e-soon", NOW + timedelta(days=10))
    later = await earn(member, 100, "e-later", YEAR)
    reward = await create_reward("酒杯", 80, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)  # 50 from soon, 30 from later
    at = NOW + timedelta(days=31)
    assert (await expire_due(at)).points == 0  # soon was spent whole: nothing left to expire

    [event] = await expire_vouchers(at, programme, Outbox(programme))

    assert await standing(member) == (100, 0)  # 70 left + 30 back; the 50 expired at once
    assert await lots(member) == {soon: (0, NOW + timedelta(days=10)), later: (100, YEAR)}
    expired = await LedgerEntry.get(kind=EntryKind.EXPIRE, ref=f"redemption:{done.id}")
    assert expired.points == -50
    assert event.points_returned == 30
    [told] = await OutboxMessage.filter(member_id=member, kind="voucher")
    assert told.payload["data"]["thing3"] == "已过期，退回30积分", told.payload
    await assert_consistent(member)

    # All of them expired since: nothing came back, and the member is not told otherwise.
    other = await make_member(2)
    await earn(other, 80, "o-soon", NOW + timedelta(days=10))
    spent = await redeem(other, reward.id, NOW, "r-2", programme)
    [event] = await expire_vouchers(at, programme, Outbox(programme))
    assert (event.redemption_id, event.points_returned) == (spent.id, 0)
    [told] = await OutboxMessage.filter(member_id=other, kind="voucher")
    assert told.payload["data"]["thing3"] == "已过期", told.payload
    await assert_consistent(other)


async def test_a_cancelled_voucher_answers_only_the_points_that_came_back_alive(
    db: None, programme: Programme
) -> None:
    """Staff cancel a voucher after one of its lots expired: the answer says what the member
    can spend again (30), not the whole cost (80); cancelling twice answers the same."""
    member = await make_member()
    await earn(member, 50, "e-soon", NOW + timedelta(days=10))
    await earn(member, 100, "e-later", YEAR)
    reward = await create_reward("酒杯", 80, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)  # 50 from soon, 30 from later
    at = NOW + timedelta(days=11)  # soon has expired; the voucher is still valid
    for _ in range(2):
        _, cancelled, returned = await cancel_voucher(done.voucher_code, at, programme, staff_id=1)
        assert (cancelled.points, returned, cancelled.balance) == (80, 30, 100)
    assert await standing(member) == (100, 0)
    await assert_consistent(member)


async def test_a_lot_partly_spent_never_expires_more_than_it_held(
    db: None, programme: Programme
) -> None:
    # 50 earned, 30 redeemed, the other 20 expire with the lot, then the 30 come back.
    for expiry_run_first in (True, False):
        member = await make_member(2 if expiry_run_first else 3)
        soon = await earn(member, 50, f"e-{member}", NOW + timedelta(hours=2))
        reward = await create_reward(f"r{member}", 30, NOW, programme, cancel_window_hours=48)
        done = await redeem(member, reward.id, NOW, f"r-{member}", programme)
        later = NOW + timedelta(hours=3)
        if expiry_run_first:
            await expire_due(later)
        await cancel_redemption(done.id, later, programme)
        await expire_due(later)
        expired = await LedgerEntry.filter(member_id=member, kind=EntryKind.EXPIRE)
        assert sorted(e.points for e in expired) == [-30, -20]
        assert (await PointsLot.get(id=soon)).remaining == 0
        assert await standing(member) == (0, 0)
        await assert_consistent(member)


async def test_cancelling_twice_changes_nothing(db: None, programme: Programme) -> None:
    member = await make_member()
    soon = await earn(member, 60, "e-soon", NOW + timedelta(days=3))
    later = await earn(member, 60, "e-later", YEAR)
    reward = await create_reward("酒杯", 100, NOW, programme, stock=1, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)
    first = await cancel_redemption(done.id, NOW + timedelta(hours=1), programme)
    books = (await lots(member), await standing(member))
    entries = await LedgerEntry.filter(member_id=member).count()
    uses = await PointsLotUse.all().count()

    second = await cancel_redemption(done.id, NOW + timedelta(hours=2), programme)

    assert second.balance == first.balance == 120
    assert (await lots(member), await standing(member)) == books
    assert books[0] == {soon: (60, NOW + timedelta(days=3)), later: (60, YEAR)}
    assert await LedgerEntry.filter(member_id=member).count() == entries
    assert await PointsLotUse.all().count() == uses
    # The refund itself, repeated at the ledger, replays and changes nothing either.
    replay = await points.refund(
        member, 100, ref=f"redemption:{done.id}", reason="取消兑换 酒杯", now=NOW
    )
    assert replay.replayed
    assert (await lots(member), await standing(member)) == books


async def test_a_refund_while_in_debt_pays_the_debt_first(db: None, programme: Programme) -> None:
    member = await make_member()
    bought = await record_purchase(
        member_id=member, order_id="o-1", amount_fen=20_000, now=NOW, programme=programme
    )
    earned = bought.points_earned
    assert earned > 0
    reward = await create_reward("酒杯", earned, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)
    await record_return("o-1", 20_000, now=NOW, ref="ret-1")
    assert await standing(member) == (0, earned)

    back = await cancel_redemption(done.id, NOW + timedelta(hours=1), programme)

    assert back.balance == 0
    assert await standing(member) == (0, 0)
    assert all(remaining == 0 for remaining, _ in (await lots(member)).values())
    await assert_consistent(member)


async def test_a_spend_recorded_before_lot_uses_gets_a_lot_of_the_fallback_expiry(
    db: None, programme: Programme
) -> None:
    member = await make_member()
    await earn(member, 100, "e-1", NOW + timedelta(days=3))
    reward = await create_reward("酒杯", 80, NOW, programme, cancel_window_hours=48)
    done = await redeem(member, reward.id, NOW, "r-1", programme)
    spend = await LedgerEntry.get(kind=EntryKind.REDEEM, ref=f"redemption:{done.id}")
    await PointsLotUse.filter(entry_id=spend.id).delete()

    await cancel_redemption(done.id, NOW + timedelta(hours=1), programme)

    refund = await LedgerEntry.get(kind=EntryKind.REFUND, ref=f"redemption:{done.id}")
    fallback = await PointsLot.get(entry_id=refund.id)
    assert fallback.remaining == 80
    assert fallback.expires_at is not None and fallback.expires_at > NOW + timedelta(days=3)
    await assert_consistent(member)


async def test_a_refund_needs_the_spend_it_gives_back(db: None) -> None:
    member = await make_member()
    other = await make_member(2)
    await earn(member, 100, "e-1", None)
    await points.debit(member, 40, kind=EntryKind.REDEEM, ref="s-1", reason="s", now=NOW)
    with pytest.raises(InvalidMovement, match="no redeem"):
        await points.refund(member, 40, ref="s-2", reason="r", now=NOW)
    with pytest.raises(InvalidMovement, match="no redeem"):
        await points.refund(other, 40, ref="s-1", reason="r", now=NOW)
    with pytest.raises(InvalidMovement, match="more than"):
        await points.refund(member, 41, ref="s-1", reason="r", now=NOW)
    with pytest.raises(InvalidMovement):
        await points.credit(member, 40, kind=EntryKind.REFUND, ref="s-1", reason="r", now=NOW)
    assert await standing(member) == (60, 0)
    await points.refund(member, 40, ref="s-1", reason="r", now=NOW)
    assert await standing(member) == (100, 0)
    assert await PointsLot.filter(member_id=member).count() == 1
    await assert_consistent(member)


async def test_returns_record_the_lots_they_took(db: None, programme: Programme) -> None:
    member = await make_member()
    first = await earn(member, 100, "e-1", NOW + timedelta(days=3))
    bought = await record_purchase(
        member_id=member, order_id="o-1", amount_fen=20_000, now=NOW, programme=programme
    )
    own = await PointsLot.get(entry__ref="order:o-1")
    await record_return("o-1", 20_000, now=NOW, ref="ret-1")
    # The purchase's own lot first, although the other one expires sooner.
    assert await uses_of("return:ret-1", EntryKind.REVERSE) == {own.id: bought.points_earned}
    assert (await PointsLot.get(id=first)).remaining == 100


def test_plan_refund_order() -> None:
    at = NOW + timedelta(days=1)
    uses = [
        Use(lot_id=3, points=30, expires_at=None, expired=False),
        Use(lot_id=2, points=20, expires_at=at, expired=False),
        Use(lot_id=1, points=10, expires_at=NOW, expired=True),
    ]
    # Debt first, out of the soonest-expiring points (the expired ones).
    plan = plan_refund(uses, 60, debt=15)
    assert (plan.to_debt, plan.expire, plan.restore, plan.new_lot) == (15, 0, ((2, 15), (3, 30)), 0)
    plan = plan_refund(uses, 60, debt=0)
    assert (plan.to_debt, plan.expire, plan.restore, plan.new_lot) == (0, 10, ((2, 20), (3, 30)), 0)
    # Points no recorded use covers (spent before uses were recorded) come last.
    plan = plan_refund(uses[:1], 50, debt=0)
    assert (plan.to_debt, plan.expire, plan.restore, plan.new_lot) == (0, 0, ((3, 30),), 20)
    with pytest.raises(ValueError):
        plan_refund(uses, 0, debt=0)


@pytest.mark.usefixtures("pg_only")
async def test_racing_cancels_redeems_and_expiry_keep_the_lots_exact(
    db: None, programme: Programme
) -> None:
    member = await make_member()
    soon = await earn(member, 100, "e-soon", NOW + timedelta(hours=2))
    later = await earn(member, 300, "e-later", YEAR)
    reward = await create_reward("酒杯", 60, NOW, programme, cancel_window_hours=48)
    made = [(await redeem(member, reward.id, NOW, f"r-{i}", programme)).id for i in range(4)]
    at = NOW + timedelta(hours=3)
    jobs = [cancel_redemption(made[i % 4], at, programme) for i in range(12)]
    jobs += [redeem(member, reward.id, at, f"r-late-{i}", programme) for i in range(4)]
    jobs.append(expire_due(at))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    # A late redemption that ran before the cancellations may find too few points, nothing else.
    failed = [r for r in results if isinstance(r, Exception)]
    assert all(
        isinstance(r, RedemptionRefused) and r.reason is Refusal.NOT_ENOUGH_POINTS for r in failed
    )
    late = 4 - len(failed)
    assert await LedgerEntry.filter(member_id=member, kind=EntryKind.REFUND).count() == 4
    await assert_consistent(member)
    await assert_lots_explained(member)
    # The soon lot gave 100 of the first 240 points: all of them expire, none come back.
    assert (await PointsLot.get(id=soon)).remaining == 0
    expired = await LedgerEntry.filter(member_id=member, kind=EntryKind.EXPIRE)
    assert -sum(e.points for e in expired) == 100
    assert (await PointsLot.get(id=later)).remaining == 300 - 60 * late
    assert await standing(member) == (300 - 60 * late, 0)
