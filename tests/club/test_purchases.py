"""Purchases and returns: points, idempotency, proportional reversal, debt, upgrades."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from club.db.models.ledger import ChannelLevel, LedgerEntry, Purchase, PurchaseItem
from club.db.models.members import Member
from club.points import ledger as points
from club.points.ledger import EntryKind, UnknownMember
from club.programme import load_programme
from club.sales.purchases import (
    OrderConflict,
    PurchaseError,
    PurchaseLine,
    PurchaseResult,
    ReturnExceedsPurchase,
    UnknownOrder,
    UnknownStore,
    record_purchase,
    record_return,
    upsert_store,
)
from tests.club.ledger_support import NOW, assert_consistent, make_member, standing

pytestmark = pytest.mark.usefixtures("db")
PROGRAMME = load_programme(None)


async def buy(member: int, order: str, fen: int) -> PurchaseResult:
    return await record_purchase(
        member_id=member, order_id=order, amount_fen=fen, now=NOW, programme=PROGRAMME
    )


async def test_purchase_earns_per_yuan_and_repeats_answer_the_same() -> None:
    m = await make_member()
    first = await record_purchase(
        member_id=m, order_id="A1", amount_fen=12_345, now=NOW, programme=PROGRAMME
    )
    assert (first.points_earned, first.balance, first.tier) == (123, 123, "taste")
    assert first.upgrade is None and not first.replayed
    again = await record_purchase(
        member_id=m, order_id="A1", amount_fen=12_345, now=NOW, programme=PROGRAMME
    )
    assert again == first and again.replayed
    assert await standing(m) == (123, 0)
    assert await Purchase.all().count() == 1


async def test_purchase_by_openid_with_store_and_items() -> None:
    m = await make_member(5)
    await upsert_store("SH01", "上海一店", ChannelLevel.KEY_ACCOUNT, "上海")
    items = [PurchaseLine("MT-500", 2, 60_000, 40_000), PurchaseLine("MT-100", 1, 20_000, 9_000)]
    result = await record_purchase(
        openid="o-test-000005",
        order_id="B1",
        amount_fen=80_000,
        store_id="SH01",
        items=items,
        now=NOW,
        programme=PROGRAMME,
    )
    assert result.member_id == m and result.points_earned == 800
    purchase = await Purchase.get(order_id="B1")
    assert purchase.store_id == "SH01" and purchase.cost_fen == 49_000
    assert await PurchaseItem.filter(purchase_id=purchase.id).count() == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"amount_fen": 0}, PurchaseError),
        ({"amount_fen": -5}, PurchaseError),
        ({"order_id": " "}, PurchaseError),
        ({"store_id": "NOPE"}, UnknownStore),
        ({"items": [PurchaseLine("X", 1, 999)]}, PurchaseError),
        ({"items": [PurchaseLine("X", 0, 1000)]}, PurchaseError),
    ],
)
async def test_bad_purchases_are_refused_and_record_nothing(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    m = await make_member()
    args: dict[str, object] = {"order_id": "C1", "amount_fen": 1000} | kwargs
    with pytest.raises(error):
        await record_purchase(member_id=m, now=NOW, programme=PROGRAMME, **args)  # type: ignore[arg-type]
    assert await Purchase.all().count() == 0 and await LedgerEntry.all().count() == 0


async def test_unknown_member_and_conflicting_repeat() -> None:
    m = await make_member(1)
    other = await make_member(2)
    with pytest.raises(UnknownMember):
        await buy(m + 100, "D1", 1000)
    with pytest.raises(PurchaseError):
        await record_purchase(
            openid="o-nobody", order_id="D1", amount_fen=1, now=NOW, programme=PROGRAMME
        )
    await buy(m, "D1", 1000)
    with pytest.raises(OrderConflict):
        await buy(m, "D1", 2000)
    with pytest.raises(OrderConflict):
        await buy(other, "D1", 1000)


async def test_crossing_a_threshold_upgrades_at_once_and_multiplier_applies_next() -> None:
    m = await make_member()
    first = await buy(m, "E1", 250_000)
    assert first.upgrade is None
    second = await buy(m, "E2", 60_000)
    assert second.tier == "silver"
    change = second.upgrade
    assert change is not None and (change.from_tier, change.to_tier) == ("taste", "silver")
    assert change.upgrade
    # The repeat carries the same upgrade (the caller's message key makes it one message).
    assert (await buy(m, "E2", 60_000)).upgrade == change
    third = await buy(m, "E3", 10_000)
    assert third.points_earned == 120
    assert (await Member.get(id=m)).tier == "silver"


async def test_jump_over_several_tiers() -> None:
    m = await make_member()
    result = await buy(m, "F1", 6_000_000)
    assert result.tier == "black"


async def test_return_reverses_in_proportion_and_adds_up_exactly() -> None:
    m = await make_member()
    await buy(m, "G1", 10_001)  # 100 points
    r1 = await record_return("G1", 3_333, now=NOW, ref="ret-1")
    assert r1.points_reversed == 33 and r1.balance == 67
    r2 = await record_return("G1", 3_333, now=NOW, ref="ret-2")
    assert r2.points_reversed == 33
    r3 = await record_return("G1", 3_335, now=NOW, ref="ret-3")
    assert r3.points_reversed == 34 and r3.returned_fen_total == 10_001
    assert await standing(m) == (0, 0)
    with pytest.raises(ReturnExceedsPurchase):
        await record_return("G1", 1, now=NOW, ref="ret-4")
    await assert_consistent(m)


async def test_return_of_spent_points_leaves_debt_paid_by_next_earnings() -> None:
    m = await make_member()
    await buy(m, "H1", 50_000)  # 500 points
    await points.debit(m, 450, kind=EntryKind.REDEEM, ref="rd", reason="兑换", now=NOW)
    result = await record_return("H1", 50_000, now=NOW)
    assert (result.points_reversed, result.balance, result.debt) == (500, 0, 450)
    later = await buy(m, "H2", 60_000)
    assert later.balance == 150
    assert await standing(m) == (150, 0)
    await assert_consistent(m)


async def test_returns_are_idempotent_and_refused_when_too_large() -> None:
    m = await make_member()
    await buy(m, "J1", 10_000)
    first = await record_return("J1", 4_000, now=NOW)
    again = await record_return("J1", 4_000, now=NOW)
    assert again == first and again.replayed
    with pytest.raises(ReturnExceedsPurchase, match="6000 fen are left"):
        await record_return("J1", 7_000, now=NOW)
    with pytest.raises(UnknownOrder):
        await record_return("NOPE", 1, now=NOW)
    with pytest.raises(PurchaseError):
        await record_return("J1", 0, now=NOW)
    with pytest.raises(OrderConflict):
        await record_return("J1", 5, now=NOW, ref=first.ref)
    assert await standing(m) == (60, 0)


async def test_returns_lower_qualifying_spend_but_do_not_downgrade_at_once() -> None:
    from club.tiers.service import tier_status

    m = await make_member()
    await buy(m, "K1", 400_000)
    await record_return("K1", 200_000, now=NOW + timedelta(minutes=1))
    status = await tier_status(m, NOW + timedelta(minutes=2), PROGRAMME)
    assert status.spend_fen == 200_000 and status.tier.code == "silver"


@pytest.mark.usefixtures("pg_only")
async def test_same_order_20_times_at_once_one_award_20_identical_answers() -> None:
    m = await make_member()
    answers = await asyncio.gather(*(buy(m, "Z1", 399_900) for _ in range(20)))
    assert len(set(answers)) == 1
    assert sum(not a.replayed for a in answers) == 1
    assert await standing(m) == (3999, 0)
    assert await LedgerEntry.filter(member_id=m).count() == 1
    await assert_consistent(m)


@pytest.mark.usefixtures("pg_only")
async def test_same_return_20_times_at_once_reverses_once() -> None:
    m = await make_member()
    await buy(m, "Z2", 100_000)
    answers = await asyncio.gather(*(record_return("Z2", 100_000, now=NOW) for _ in range(20)))
    assert len(set(answers)) == 1
    assert await standing(m) == (0, 0)
    await assert_consistent(m)


@pytest.mark.usefixtures("pg_only")
async def test_concurrent_purchases_of_one_member_upgrade_once_on_the_crossing() -> None:
    m = await make_member()
    answers = await asyncio.gather(*(buy(m, f"Y{i}", 100_000) for i in range(9)))
    upgrades = [a.upgrade for a in answers if a.upgrade is not None]
    assert [(u.from_tier, u.to_tier) for u in upgrades] == [("taste", "silver")]
    assert (await Member.get(id=m)).tier == "silver"
