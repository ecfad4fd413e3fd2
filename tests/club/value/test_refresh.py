"""value-refresh on hand-computed consumers (fixtures.CONSUMERS): RFM, classes, quadrants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from club.db.models.value import MemberValue, ValueClassChange
from club.sales.purchases import PurchaseLine, record_purchase
from club.value.refresh import refresh_values
from tests.club.value.fixtures import NOW, PROGRAMME, YUAN, build_consumers

pytestmark = pytest.mark.usefixtures("db")


async def values_by_name(ids: dict[str, int]) -> dict[str, MemberValue]:
    names = {v: k for k, v in ids.items()}
    return {names[v.member_id]: v for v in await MemberValue.all()}


async def test_rfm_classes_and_quadrants_by_hand() -> None:
    ids = await build_consumers()
    counts = await refresh_values(NOW.date(), NOW, PROGRAMME)
    assert counts == {
        "members": 6,
        "class_changes": 6,
        "customers_ranked": 5,  # the snapshot of the default period: M5 bought before it
        "class_A": 2,
        "class_B": 1,
        "class_C": 3,
        "quadrant_keep": 1,
        "quadrant_grow": 1,
        "quadrant_develop": 2,
        "quadrant_economise": 2,
    }
    v = await values_by_name(ids)
    assert {n: x.value_class for n, x in v.items()} == {
        "M1": "A",
        "M2": "B",
        "M3": "C",
        "M4": "A",
        "M5": "C",
        "M6": "C",
    }
    assert {n: x.quadrant for n, x in v.items()} == {
        "M1": "grow",
        "M2": "develop",
        "M3": "economise",
        "M4": "keep",
        "M5": "economise",
        "M6": "develop",
    }
    assert {n: x.potential for n, x in v.items()} == {
        "M1": "near_tier",
        "M2": "rising",
        "M3": None,
        "M4": None,
        "M5": None,
        "M6": "rising",
    }
    # R by last purchase (M5 oldest ... M2 newest), F by purchases, M by spend; 6 members in
    # 5 bins: score = 1 + 5 x (rank - 1) // 6, ties share the lowest rank.
    assert {n: (x.r_score, x.f_score, x.m_score) for n, x in v.items()} == {
        "M1": (4, 5, 5),
        "M2": (5, 1, 3),
        "M3": (1, 1, 2),
        "M4": (2, 4, 4),
        "M5": (1, 1, 1),
        "M6": (3, 1, 1),
    }
    assert {n: x.profit_fen for n, x in v.items()} == {
        "M1": 1_404 * YUAN,
        "M2": 500 * YUAN,
        "M3": 100 * YUAN,
        "M4": 1_520 * YUAN,
        "M5": None,
        "M6": None,
    }
    assert (v["M6"].missing_cost_purchases, v["M6"].monetary_fen) == (1, 300 * YUAN)
    assert (v["M5"].frequency, v["M5"].monetary_fen) == (0, 0)
    assert v["M2"].recency_days == 52  # 1 October 12:00 to 23 November 10:00
    assert (v["M4"].recent_fen, v["M4"].prior_fen) == (0, 2_000 * YUAN)
    changes = await ValueClassChange.all()
    assert {(c.from_class, c.to_class) for c in changes} == {(None, "A"), (None, "B"), (None, "C")}


async def test_a_class_change_is_kept_once_per_day() -> None:
    ids = await build_consumers()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    again = await refresh_values(NOW.date(), NOW, PROGRAMME)
    assert again["class_changes"] == 0 and await ValueClassChange.all().count() == 6
    # M2 buys 3,000 yuan more (cost 1,000; profit 1,880): 2,380 in all, now the first in
    # profit; M4 and M1 stay A (before M1: 3,900 < 80% of 5,404), M3 stays C.
    tomorrow = NOW + timedelta(days=1)
    await record_purchase(
        member_id=ids["M2"],
        order_id="C-more",
        amount_fen=3_000 * YUAN,
        items=[PurchaseLine("BAIJIU-500", 1, 3_000 * YUAN, 1_000 * YUAN)],
        now=NOW + timedelta(hours=12),
        programme=PROGRAMME,
    )
    counts = await refresh_values(tomorrow.date(), tomorrow, PROGRAMME)
    assert counts["class_changes"] == 1
    await refresh_values(tomorrow.date(), tomorrow, PROGRAMME)
    [change] = await ValueClassChange.filter(day=tomorrow.date())
    assert (change.member_id, change.from_class, change.to_class) == (ids["M2"], "B", "A")
    v = await values_by_name(ids)
    assert v["M2"].value_class == "A" and v["M2"].day == tomorrow.date()
