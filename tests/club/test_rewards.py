"""Rewards: catalogue, tier gating, redemption (points and stock together), cancellation."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.members.enrolment import complete_enrolment, get_or_create_member, record_consent
from club.points import ledger as points
from club.programme import Programme, load_programme
from club.rewards.redemptions import (
    RedemptionRefused,
    Refusal,
    RewardRefConflict,
    RewardSpecError,
    cancel_redemption,
    create_reward,
    list_catalogue,
    list_rewards,
    redeem,
)
from club.rules.kinds import EntryKind

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def join(openid: str, programme: Programme, extra: int = 0) -> int:
    """A member with the welcome bonus (100) plus `extra` points."""
    member = await get_or_create_member(openid, NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    if extra:
        await points.credit(
            member.id, extra, kind=EntryKind.BONUS, ref=f"test:{openid}", reason="test", now=NOW
        )
    return int(member.id)


async def refused(reason: Refusal, call: object) -> None:
    with pytest.raises(RedemptionRefused) as caught:
        await call  # type: ignore[misc]
    assert caught.value.reason is reason


async def test_catalogue_validation(db: None, programme: Programme) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"points_cost": 0}, "points_cost"),
        ({"stock": -1}, "stock"),
        ({"per_member_limit": 0}, "per_member_limit"),
        ({"min_tier": "platinum"}, "min_tier"),
        ({"active_from": NOW, "active_until": NOW}, "active_until"),
        ({"cancel_window_hours": -1}, "cancel_window_hours"),
    ]
    for kwargs, field in cases:
        args: dict[str, object] = {"points_cost": 10, **kwargs}
        cost = args.pop("points_cost")
        assert isinstance(cost, int)
        with pytest.raises(RewardSpecError, match=field):
            await create_reward("酒杯", cost, NOW, programme, **args)  # type: ignore[arg-type]
    assert await list_catalogue() == []
    made = await create_reward("酒杯", 80, NOW, programme, stock=3, min_tier="silver")
    assert [r.id for r in await list_catalogue()] == [made.id]


async def test_list_is_tier_gated_active_in_stock_and_within_limits(
    db: None, programme: Programme
) -> None:
    member = await join("oLIST", programme, extra=50)
    open_ = await create_reward("小酒杯", 100, NOW, programme, stock=5)
    dear = await create_reward("礼盒", 500, NOW, programme)
    await create_reward("金卡专享", 10, NOW, programme, min_tier="gold")
    await create_reward("售罄", 10, NOW, programme, stock=0)
    await create_reward("未开始", 10, NOW, programme, active_from=NOW + timedelta(days=1))
    await create_reward("已结束", 10, NOW, programme, active_until=NOW - timedelta(seconds=1))
    limited = await create_reward("限一", 20, NOW, programme, per_member_limit=1)

    offers = await list_rewards(member, NOW, programme)
    assert [o.reward.id for o in offers] == [limited.id, open_.id, dear.id]
    assert [o.affordable for o in offers] == [True, True, False]
    assert offers[2].points_short == 500 - 150

    await redeem(member, limited.id, NOW, "req-limit", programme)
    assert limited.id not in [o.reward.id for o in await list_rewards(member, NOW, programme)]

    await Member.filter(id=member).update(tier="black")
    names = [o.reward.name for o in await list_rewards(member, NOW, programme)]
    assert "金卡专享" in names
    visitor = await get_or_create_member("oNOTJOINED", NOW)
    assert await list_rewards(visitor.id, NOW, programme) == []


async def test_redeem_takes_points_and_stock_and_issues_a_voucher(
    db: None, programme: Programme
) -> None:
    member = await join("oREDEEM", programme, extra=100)
    reward = await create_reward("酒杯", 80, NOW, programme, stock=2, cancel_window_hours=24)
    done = await redeem(member, reward.id, NOW, "msg-1", programme)
    assert done.points == 80 and done.balance == 120 and done.status is RedemptionStatus.ACTIVE
    assert done.reward_name == "酒杯" and len(done.voucher_code.replace("-", "")) == 10
    assert done.cancel_until == NOW + timedelta(hours=24)
    assert (await Reward.get(id=reward.id)).stock == 1
    entry = await LedgerEntry.get(ref=f"redemption:{done.id}", kind="redeem")
    assert entry.points == -80 and entry.member_id == member

    await points.credit(member, 7, kind=EntryKind.BONUS, ref="later", reason="later", now=NOW)
    again = await redeem(member, reward.id, NOW + timedelta(seconds=3), "msg-1", programme)
    assert again == done
    assert (await Reward.get(id=reward.id)).stock == 1
    assert (await Member.get(id=member)).points_balance == 127


async def test_refusals_change_nothing(db: None, programme: Programme) -> None:
    member = await join("oREFUSE", programme)
    cheap = await create_reward("贴纸", 60, NOW, programme, stock=1)
    gold = await create_reward("金卡", 10, NOW, programme, min_tier="gold")
    pricey = await create_reward("礼盒", 500, NOW, programme, stock=4)
    later = await create_reward("新品", 10, NOW, programme, active_from=NOW + timedelta(hours=1))
    limited = await create_reward("限一", 10, NOW, programme, per_member_limit=1)

    await refused(Refusal.REWARD_NOT_FOUND, redeem(member, 99_999, NOW, "r1", programme))
    await refused(Refusal.TIER_TOO_LOW, redeem(member, gold.id, NOW, "r2", programme))
    await refused(Refusal.NOT_ENOUGH_POINTS, redeem(member, pricey.id, NOW, "r3", programme))
    await refused(Refusal.UNAVAILABLE, redeem(member, later.id, NOW, "r4", programme))
    await redeem(member, limited.id, NOW, "r5", programme)
    await refused(Refusal.MEMBER_LIMIT, redeem(member, limited.id, NOW, "r6", programme))
    await redeem(member, cheap.id, NOW, "r7", programme)
    other = await join("oOTHER", programme)
    await refused(Refusal.OUT_OF_STOCK, redeem(other, cheap.id, NOW, "r8", programme))
    visitor = await get_or_create_member("oVISITOR", NOW)
    await refused(Refusal.NOT_A_MEMBER, redeem(visitor.id, cheap.id, NOW, "r9", programme))

    assert (await Reward.get(id=pricey.id)).stock == 4
    assert (await Reward.get(id=cheap.id)).stock == 0
    assert (await Member.get(id=member)).points_balance == 100 - 10 - 60
    assert (await Member.get(id=other)).points_balance == 100
    assert await Redemption.all().count() == 2


async def test_cancel_within_the_window_restores_points_and_stock(
    db: None, programme: Programme
) -> None:
    member = await join("oCANCEL", programme)
    reward = await create_reward("酒杯", 80, NOW, programme, stock=1, per_member_limit=1)
    done = await redeem(member, reward.id, NOW, "c-1", programme)
    assert (await Reward.get(id=reward.id)).stock == 0

    back = await cancel_redemption(done.id, NOW + timedelta(hours=23), programme)
    assert back.status is RedemptionStatus.CANCELLED and back.balance == 100
    assert back.cancelled_at == NOW + timedelta(hours=23)
    assert (await Reward.get(id=reward.id)).stock == 1
    refund = await LedgerEntry.get(kind="refund", ref=f"redemption:{done.id}")
    assert refund.points == 80

    twice = await cancel_redemption(done.id, NOW + timedelta(hours=23, minutes=1), programme)
    assert twice.status is RedemptionStatus.CANCELLED and twice.balance == 100
    assert (await Reward.get(id=reward.id)).stock == 1
    assert await LedgerEntry.filter(kind="refund").count() == 1

    # A cancelled redemption no longer counts against the per-member limit.
    again = await redeem(member, reward.id, NOW + timedelta(days=1), "c-2", programme)
    assert again.balance == 20


async def test_cancel_after_the_window_or_by_someone_else_is_refused(
    db: None, programme: Programme
) -> None:
    member = await join("oLATE", programme)
    reward = await create_reward("酒杯", 80, NOW, programme, stock=1, cancel_window_hours=2)
    done = await redeem(member, reward.id, NOW, "l-1", programme)
    stranger = await join("oSTRANGER", programme)
    await refused(
        Refusal.REDEMPTION_NOT_FOUND,
        cancel_redemption(done.id, NOW, programme, member_id=stranger),
    )
    await refused(Refusal.REDEMPTION_NOT_FOUND, cancel_redemption(99_999, NOW, programme))
    late = NOW + timedelta(hours=2, seconds=1)
    await refused(Refusal.CANCEL_WINDOW_CLOSED, cancel_redemption(done.id, late, programme))
    assert (await Member.get(id=member)).points_balance == 20
    assert (await Reward.get(id=reward.id)).stock == 0
    own = await cancel_redemption(done.id, NOW + timedelta(hours=1), programme, member_id=member)
    assert own.status is RedemptionStatus.CANCELLED


async def test_concurrent_requests_with_one_ref_redeem_once(db: None, programme: Programme) -> None:
    member = await join("oSAMEREF", programme, extra=900)
    reward = await create_reward("酒杯", 100, NOW, programme, stock=10)
    results = await asyncio.gather(
        *(redeem(member, reward.id, NOW, "same-ref", programme) for _ in range(10))
    )
    assert len({r.id for r in results}) == 1
    assert (await Member.get(id=member)).points_balance == 900
    assert (await Reward.get(id=reward.id)).stock == 9


async def test_unlimited_stock_is_left_alone(db: None, programme: Programme) -> None:
    member = await join("oUNLIMITED", programme)
    reward = await create_reward("电子券", 30, NOW, programme)
    done = await redeem(member, reward.id, NOW, "u-1", programme)
    await cancel_redemption(done.id, NOW, programme)
    assert (await Reward.get(id=reward.id)).stock is None


async def test_create_reward_with_a_ref_is_idempotent_and_refuses_another_body(
    db: None, programme: Programme
) -> None:
    start = datetime(2026, 12, 1, tzinfo=TZ)
    first = await create_reward("酒杯", 300, NOW, programme, stock=5, active_from=start, ref="r-1")
    assert first.ref == "r-1"
    # The same instant in another time zone is the same request.
    utc = start.astimezone(ZoneInfo("UTC"))
    again = await create_reward(
        "酒杯", 300, NOW + timedelta(minutes=1), programme, stock=5, active_from=utc, ref="r-1"
    )
    assert again == first
    # Stock taken by redemptions since does not make the retry a different request.
    await Reward.filter(id=first.id).update(stock=4)
    assert (
        await create_reward("酒杯", 300, NOW, programme, stock=5, active_from=start, ref="r-1")
    ).id == first.id
    for changed in (
        {"stock": 6, "active_from": start},
        {"stock": 5, "active_from": None},
        {"stock": 5, "active_from": start, "description": "x"},
    ):
        with pytest.raises(RewardRefConflict, match="r-1"):
            await create_reward("酒杯", 300, NOW, programme, ref="r-1", **changed)  # type: ignore[arg-type]
    with pytest.raises(RewardSpecError, match="ref"):
        await create_reward("酒杯", 300, NOW, programme, ref=" ")
    assert await Reward.all().count() == 1


async def test_concurrent_creations_with_one_ref_make_one_reward(
    db: None, programme: Programme
) -> None:
    made = await asyncio.gather(
        *(create_reward("酒杯", 300, NOW, programme, ref="same") for _ in range(5))
    )
    assert len({r.id for r in made}) == 1
    assert await Reward.all().count() == 1
