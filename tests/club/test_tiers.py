"""Tier rules and the tier service: upgrade, review one step down, the staff floor."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from club.db.models.members import Member
from club.programme import ProgrammeError, load_programme
from club.rules.tiers import months_back, review_target, spend_to_next, upgrade_target
from club.sales.purchases import record_purchase, record_return
from club.tiers.service import (
    TierReason,
    qualifying_spend,
    review_tier,
    set_tier_floor,
    tier_status,
)
from tests.club.ledger_support import NOW, TZ, make_member

PROGRAMME = load_programme(None)
LADDER = PROGRAMME.tiers


@pytest.mark.parametrize(
    ("current", "spend", "expected"),
    [
        ("taste", 299_999, None),
        ("taste", 300_000, "silver"),
        (None, 300_000, "silver"),
        ("silver", 5_000_000, "black"),
        ("gold", 0, None),
        ("black", 10**9, None),
    ],
)
def test_upgrade_target(current: str | None, spend: int, expected: str | None) -> None:
    target = upgrade_target(LADDER, current, spend)
    assert (target.code if target else None) == expected


@pytest.mark.parametrize(
    ("current", "floor", "spend", "expected"),
    [
        ("black", None, 0, "gold"),  # one step at most
        ("gold", None, 1_000_000, None),  # kept
        ("gold", "gold", 0, None),  # the floor holds
        ("black", "silver", 0, "gold"),
        ("silver", "silver", 0, None),
        ("taste", None, 0, None),
        ("silver", None, 1_200_000, "gold"),  # a review also lifts
    ],
)
def test_review_target(current: str, floor: str | None, spend: int, expected: str | None) -> None:
    target = review_target(LADDER, current, floor, spend)
    assert (target.code if target else None) == expected


def test_spend_to_next_and_unknown_code() -> None:
    assert spend_to_next(LADDER, "taste", 100_000) == 200_000
    assert spend_to_next(LADDER, "silver", 2_000_000) == 0
    assert spend_to_next(LADDER, "black", 0) is None
    with pytest.raises(ProgrammeError, match="unknown tier code 'platinum'"):
        LADDER.get("platinum")


@pytest.mark.parametrize(
    ("now", "months", "expected"),
    [
        (datetime(2026, 11, 23, 10, tzinfo=TZ), 12, datetime(2025, 11, 23, 10, tzinfo=TZ)),
        (datetime(2026, 3, 31, tzinfo=TZ), 1, datetime(2026, 2, 28, tzinfo=TZ)),
        (datetime(2028, 2, 29, tzinfo=TZ), 12, datetime(2027, 2, 28, tzinfo=TZ)),
        (datetime(2026, 1, 15, tzinfo=TZ), 13, datetime(2024, 12, 15, tzinfo=TZ)),
    ],
)
def test_months_back(now: datetime, months: int, expected: datetime) -> None:
    assert months_back(now, months) == expected


async def _buy(member: int, order: str, fen: int, at: datetime) -> None:
    await record_purchase(
        member_id=member, order_id=order, amount_fen=fen, now=at, programme=PROGRAMME
    )


@pytest.mark.usefixtures("db")
async def test_qualifying_spend_counts_twelve_months_less_returns() -> None:
    m = await make_member()
    await _buy(m, "old", 500_000, NOW - timedelta(days=400))
    await _buy(m, "recent", 200_000, NOW - timedelta(days=100))
    await _buy(m, "today", 50_000, NOW)
    await record_return("recent", 20_000, now=NOW)
    assert await qualifying_spend(m, NOW) == 230_000
    status = await tier_status(m, NOW, PROGRAMME)
    # The old purchase lifted them to silver back then; only a review takes it away.
    assert status.tier.code == "silver"
    assert status.next_tier is not None and status.next_tier.code == "gold"
    assert status.spend_to_next_fen == 770_000


@pytest.mark.usefixtures("db")
async def test_review_downgrades_one_step_per_review_and_keeps_the_floor() -> None:
    m = await make_member(tier="black")
    later = NOW + timedelta(days=30)
    change = await review_tier(m, later, PROGRAMME)
    assert change is not None and (change.from_tier, change.to_tier) == ("black", "gold")
    assert change.reason is TierReason.REVIEW and not change.upgrade
    await set_tier_floor(m, "silver", actor_id=1, now=later, programme=PROGRAMME)
    assert (await review_tier(m, later, PROGRAMME)) is not None
    assert (await Member.get(id=m)).tier == "silver"
    assert await review_tier(m, later, PROGRAMME) is None
    assert (await Member.get(id=m)).tier == "silver"


@pytest.mark.usefixtures("db")
async def test_review_keeps_a_tier_the_spend_still_earns() -> None:
    m = await make_member()
    await _buy(m, "g", 1_100_000, NOW)
    assert (await Member.get(id=m)).tier == "gold"
    assert await review_tier(m, NOW + timedelta(days=200), PROGRAMME) is None
    change = await review_tier(m, NOW + timedelta(days=400), PROGRAMME)
    assert change is not None and change.to_tier == "silver"


@pytest.mark.usefixtures("db")
async def test_staff_floor_lifts_at_once_and_refuses_unknown_tier() -> None:
    m = await make_member()
    change = await set_tier_floor(m, "gold", actor_id=9, now=NOW, programme=PROGRAMME)
    lift = change.lift
    assert lift is not None and lift.reason is TierReason.STAFF and lift.to_tier == "gold"
    member = await Member.get(id=m)
    assert (member.tier, member.tier_floor) == ("gold", "gold")
    with pytest.raises(ProgrammeError):
        await set_tier_floor(m, "diamond", actor_id=9, now=NOW, programme=PROGRAMME)
    cleared = await set_tier_floor(m, None, actor_id=9, now=NOW, programme=PROGRAMME)
    assert cleared.lift is None
    assert (await Member.get(id=m)).tier_floor is None


@pytest.mark.usefixtures("db")
async def test_staff_floor_reports_the_values_before_and_after() -> None:
    m = await make_member(tier="silver")
    later = NOW + timedelta(hours=1)
    steps = [
        # floor asked, (floor before, floor after, tier before, tier after, lifted, changed)
        ("gold", (None, "gold", "silver", "gold", True, True)),
        ("gold", ("gold", "gold", "gold", "gold", False, False)),
        ("silver", ("gold", "silver", "gold", "gold", False, True)),
        (None, ("silver", None, "gold", "gold", False, True)),
        (None, (None, None, "gold", "gold", False, False)),
        ("black", (None, "black", "gold", "black", True, True)),
    ]
    for floor, expected in steps:
        change = await set_tier_floor(m, floor, actor_id=9, now=later, programme=PROGRAMME)
        got = (
            change.floor_before,
            change.floor_after,
            change.tier_before,
            change.tier_after,
            change.lift is not None,
            change.changed,
        )
        assert (change.member_id, got) == (m, expected), floor
        member = await Member.get(id=m)
        assert (member.tier_floor, member.tier) == (expected[1], expected[3])


@pytest.mark.usefixtures("db")
async def test_staff_floor_on_a_member_without_a_tier_starts_from_the_lowest() -> None:
    m = await make_member(tier=None)
    change = await set_tier_floor(m, "silver", actor_id=9, now=NOW, programme=PROGRAMME)
    assert (change.tier_before, change.tier_after) == ("taste", "silver")
    assert change.lift is not None and change.lift.from_tier == "taste"
