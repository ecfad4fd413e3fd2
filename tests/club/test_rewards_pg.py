"""Redemptions under real concurrency (PostgreSQL): stock and balances never overrun."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from club.db.models.catalog import Redemption, Reward
from club.db.models.ledger import LedgerEntry, PointsLot
from club.db.models.members import Member
from club.members.enrolment import complete_enrolment, get_or_create_member, record_consent
from club.points import ledger as points
from club.programme import Programme, load_programme
from club.rewards.redemptions import (
    RedemptionRefused,
    RedemptionView,
    Refusal,
    create_reward,
    redeem,
)
from club.rules.kinds import EntryKind

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def join(openid: str, programme: Programme, extra: int = 0) -> int:
    member = await get_or_create_member(openid, NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    if extra:
        await points.credit(
            member.id, extra, kind=EntryKind.BONUS, ref=f"test:{openid}", reason="test", now=NOW
        )
    return int(member.id)


async def attempt(
    member_id: int, reward_id: int, ref: str, programme: Programme
) -> RedemptionView | Refusal:
    try:
        return await redeem(member_id, reward_id, NOW, ref, programme)
    except RedemptionRefused as refusal:
        return refusal.reason


async def assert_books_balance(member_ids: list[int]) -> None:
    for member in await Member.filter(id__in=member_ids):
        assert member.points_balance >= 0
        entries = await LedgerEntry.filter(member_id=member.id)
        assert sum(e.points for e in entries) == member.points_balance
        lots = await PointsLot.filter(member_id=member.id)
        assert sum(lot.remaining for lot in lots) == member.points_balance


async def test_hundred_redemptions_of_stock_ten_give_exactly_ten(
    pg_only: None, db: None, programme: Programme
) -> None:
    members = [await join(f"oSTOCK{i:03d}", programme) for i in range(100)]
    reward = await create_reward("限量酒杯", 60, NOW, programme, stock=10)

    outcomes = await asyncio.gather(
        *(attempt(m, reward.id, f"req-{m}", programme) for m in members)
    )

    won = [o for o in outcomes if isinstance(o, RedemptionView)]
    assert len(won) == 10
    assert [o for o in outcomes if not isinstance(o, RedemptionView)] == [Refusal.OUT_OF_STOCK] * 90
    assert (await Reward.get(id=reward.id)).stock == 0
    assert await Redemption.all().count() == 10
    assert len({w.voucher_code for w in won}) == 10
    balances = [m.points_balance for m in await Member.filter(id__in=members)]
    assert sorted(balances) == [40] * 10 + [100] * 90
    await assert_books_balance(members)


async def test_one_member_racing_many_redemptions_never_goes_negative(
    pg_only: None, db: None, programme: Programme
) -> None:
    member = await join("oGREEDY", programme, extra=400)  # 500 points: five items of 100
    reward = await create_reward("酒杯", 100, NOW, programme, stock=50)

    outcomes = await asyncio.gather(
        *(attempt(member, reward.id, f"greedy-{i}", programme) for i in range(30))
    )

    assert sum(isinstance(o, RedemptionView) for o in outcomes) == 5
    assert [o for o in outcomes if not isinstance(o, RedemptionView)] == (
        [Refusal.NOT_ENOUGH_POINTS] * 25
    )
    assert (await Member.get(id=member)).points_balance == 0
    assert (await Reward.get(id=reward.id)).stock == 45
    await assert_books_balance([member])
