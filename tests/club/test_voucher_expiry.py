"""Vouchers expire a batch per transaction (club.rewards.voucher_expiry): a member's several
vouchers in one batch and across batches, a member in debt, a voucher used in time and a reward
without a stock count, each ending as one voucher at a time would have left them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import LedgerEntry, PointsLot
from club.db.models.outbox import OutboxMessage
from club.messaging.outbox import Outbox
from club.points import ledger as points
from club.points.expiry import expire_due
from club.programme import Programme, load_programme
from club.rewards.redemptions import create_reward, redeem
from club.rewards.voucher_expiry import expire_vouchers
from club.rewards.vouchers import use_voucher
from club.rules.kinds import EntryKind
from tests.club import ledger_support as books
from tests.club.ledger_support import NOW, earn, make_member, standing

YEAR = NOW + timedelta(days=365)
EXPIRED = NOW + timedelta(days=31)
"""A day after the vouchers redeemed at NOW have expired (valid 30 days)."""


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def assert_running_balances(member: int) -> None:
    """Each ledger row's balance and debt after it are those of the rows up to it."""
    total = 0
    for entry in await LedgerEntry.filter(member_id=member).order_by("id"):
        total += entry.points
        assert entry.balance_after - entry.debt_after == total, (entry.kind, entry.ref)


async def test_a_batch_expires_each_voucher_as_one_at_a_time_would(
    db: None, programme: Programme
) -> None:
    glass = await create_reward("酒杯", 80, NOW, programme, stock=10, cancel_window_hours=1)
    pin = await create_reward("徽章", 30, NOW, programme, cancel_window_hours=1)
    # Three vouchers of one member: 80 from a lot that expires before the vouchers do, then 20
    # of it and 60 of the year's lot, then 80 of the year's lot.
    many = await make_member(1)
    soon = await earn(many, 100, "e-soon", NOW + timedelta(days=10))
    later = await earn(many, 200, "e-later", YEAR)
    mine = [(await redeem(many, glass.id, NOW, f"r-{i}", programme)).id for i in range(3)]
    # A member whose return left a debt: the refund pays it first.
    owing = await make_member(2)
    owed = await earn(owing, 100, "o-year", YEAR)
    theirs = (await redeem(owing, glass.id, NOW, "o-r", programme)).id
    await points.reverse(owing, 50, ref="o-return", reason="退货", now=NOW)
    # A voucher used in time, and one of a reward without a stock count.
    other = await make_member(3)
    await earn(other, 200, "x-year", YEAR)
    used = await redeem(other, glass.id, NOW, "x-used", programme)
    await use_voucher(used.voucher_code, NOW + timedelta(days=1), store_id=None, staff_id=None)
    unlimited = (await redeem(other, pin.id, NOW, "x-pin", programme)).id
    assert (await expire_due(EXPIRED)).points == 0  # the soon lot was spent whole

    events = await expire_vouchers(EXPIRED, programme, Outbox(programme), batch=2)

    returned = {e.redemption_id: e.points_returned for e in events}
    assert returned == {mine[0]: 0, mine[1]: 60, mine[2]: 80, theirs: 80, unlimited: 30}
    assert await Redemption.filter(status=RedemptionStatus.EXPIRED).count() == 5
    assert (await Redemption.get(id=used.id)).status == RedemptionStatus.USED
    # The points of the lot expired since came back and expired at once (80, then 20).
    expired = await LedgerEntry.filter(kind=EntryKind.EXPIRE).order_by("id")
    assert [(e.ref, e.points) for e in expired] == [
        (f"redemption:{mine[0]}", -80),
        (f"redemption:{mine[1]}", -20),
    ]
    assert {lot.id: lot.remaining for lot in await PointsLot.filter(member_id=many)} == {
        soon: 0,
        later: 200,
    }
    # The debt of 30 paid first, the other 50 back to the lot.
    assert (await PointsLot.get(id=owed)).remaining == 50
    assert [await standing(m) for m in (many, owing, other)] == [(200, 0), (50, 0), (120, 0)]
    for member in (many, owing, other):
        await books.assert_consistent(member)
        await books.assert_lots_explained(member)
        await assert_running_balances(member)
    assert (await Reward.get(id=glass.id)).stock == 10 - 5 + 4
    assert (await Reward.get(id=pin.id)).stock is None
    keys = await OutboxMessage.all().order_by("id").values_list("idempotency_key", flat=True)
    assert keys == [f"voucher:{i}:expired" for i in sorted(returned)]

    # Run again: nothing is due, nothing changes.
    rows = await LedgerEntry.all().count()
    assert await expire_vouchers(EXPIRED, programme, Outbox(programme), batch=2) == []
    assert await LedgerEntry.all().count() == rows
    assert await OutboxMessage.all().count() == 5
    assert (await Reward.get(id=glass.id)).stock == 9


@pytest.mark.usefixtures("db", "pg_only")
async def test_voucher_runs_at_once_with_the_points_expiry_and_credits_do_each_thing_once(
    programme: Programme,
) -> None:
    """Two voucher runs in different batch sizes, the points expiry and a credit to each member,
    all at once on the same members: no deadlock (every batch locks its members in id order),
    each voucher expired and refunded once, each lot expired once."""
    glass = await create_reward("酒杯", 80, NOW, programme, stock=30, cancel_window_hours=1)
    members = [await make_member(i) for i in range(12)]
    for i, m in enumerate(members):
        await earn(m, 100, f"old:{i}", NOW + timedelta(days=20))
        await earn(m, 100, f"year:{i}", YEAR)
        for k in range(2):  # 80 of the old lot, then 20 of it and 60 of the year's
            await redeem(m, glass.id, NOW, f"r:{i}:{k}", programme)
        await earn(m, 30, f"lapse:{i}", NOW + timedelta(days=25))  # the points expiry's lot

    async def credits() -> None:
        for i, m in enumerate(members):
            await points.credit(
                m,
                10,
                kind=EntryKind.BONUS,
                ref=f"c:{i}",
                reason="奖励",
                now=EXPIRED,
                expires_at=YEAR,
            )

    outbox = Outbox(programme)
    first, second, lots, _ = await asyncio.gather(
        expire_vouchers(EXPIRED, programme, outbox, batch=3),
        expire_vouchers(EXPIRED, programme, outbox, batch=5),
        expire_due(EXPIRED, batch=4),
        credits(),
    )

    events = first + second
    assert sorted(e.redemption_id for e in events) == sorted(
        await Redemption.all().values_list("id", flat=True)
    )
    assert sum(e.points_returned for e in events) == 12 * 60
    assert (lots.lots, lots.points) == (12, 12 * 30)
    assert await LedgerEntry.filter(kind=EntryKind.REFUND).count() == 24
    assert await OutboxMessage.all().count() == 24
    assert (await Reward.get(id=glass.id)).stock == 30
    for m in members:
        assert await standing(m) == (100 + 10, 0)
        await books.assert_consistent(m)
        await books.assert_lots_explained(m)
        await assert_running_balances(m)
