"""The profit of a purchase: the pure rule, and the SQL the reports use, agree to the fen."""

from __future__ import annotations

import pytest

from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.reports import profit as money
from club.reports.sql import fetch
from club.rules.channels import ChannelLevel
from club.rules.value import purchase_profit
from club.sales.purchases import PurchaseLine, record_purchase, record_return, upsert_store
from tests.club.value.fixtures import NOW, PROGRAMME

pytestmark = pytest.mark.usefixtures("db")
RULES = PROGRAMME.value


def test_profit_by_hand() -> None:
    # 1,000 yuan at a key-account store, cost 600 yuan, 1,000 points at 2 fen, 15% service:
    # 100,000 - 60,000 - 2,000 - 15,000 = 23,000 fen.
    kwargs = {"amount_fen": 100_000, "returned_fen": 0, "points_earned": 1_000}
    assert (
        purchase_profit(
            **kwargs, cost_fen=60_000, points_reversed=0, level="key_account", rules=RULES
        )
        == 23_000
    )
    # Without a store: the consumer level's 2%. Without a cost: unknown, not free.
    assert (
        purchase_profit(**kwargs, cost_fen=60_000, points_reversed=0, level=None, rules=RULES)
        == 36_000
    )
    assert (
        purchase_profit(**kwargs, cost_fen=None, points_reversed=0, level=None, rules=RULES) is None
    )
    # A quarter returned: 75,000 kept, cost 45,000, 750 points kept, service 11,250.
    returned = {**kwargs, "returned_fen": 25_000}
    assert (
        purchase_profit(
            **returned, cost_fen=60_000, points_reversed=250, level="key_account", rules=RULES
        )
        == 75_000 - 45_000 - 1_500 - 11_250
    )


async def test_sql_profit_equals_the_rule_for_recorded_purchases() -> None:
    await upsert_store("K1", "重点一店", ChannelLevel.KEY_ACCOUNT)
    await upsert_store("W1", "批发一部", ChannelLevel.WHOLESALER)
    member = await Member.create(openid="o-profit", tier="taste", joined_at=NOW, consent_at=NOW)
    cases = [
        ("P1", 123_457, "K1", 70_001),
        ("P2", 99_999, "W1", 33_333),
        ("P3", 1_001, None, 1_000),
        ("P4", 50_000, "K1", None),
    ]
    for order, amount, store, cost in cases:
        await record_purchase(
            member_id=member.id,
            order_id=order,
            amount_fen=amount,
            store_id=store,
            items=[PurchaseLine("X", 1, amount, cost)],
            now=NOW,
            programme=PROGRAMME,
        )
    await record_return("P1", 23_457, now=NOW)
    await record_return("P2", 99_999, now=NOW)
    sql = f"SELECT p.order_id, {money.profit(RULES)} AS profit FROM purchase p"  # noqa: S608
    got = {row["order_id"]: row["profit"] for row in await fetch(sql)}
    expected = {
        p.order_id: purchase_profit(
            amount_fen=p.amount_fen,
            returned_fen=p.returned_fen,
            cost_fen=p.cost_fen,
            points_earned=p.points_earned,
            points_reversed=p.points_reversed,
            level=p.channel_level,
            rules=RULES,
        )
        for p in await Purchase.all()
    }
    assert {k: None if v is None else int(v) for k, v in got.items()} == expected
    assert expected["P2"] == 0 and expected["P4"] is None
    assert expected["P3"] == 1_001 - 1_000 - 10 * RULES.point_value_fen - 1_001 * 200 // 10_000
