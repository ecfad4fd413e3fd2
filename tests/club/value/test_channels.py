"""Channel performance on members worked out by hand.

A1 came through small shop S1's code on 1 March and bought 1,000 yuan there (cost 400):
100,000 - 40,000 - 2,000 points value - 6% = 52,000 fen. A2 came through S1 in June 2025
(before the period) and left in May without buying. A3 came through key account K1's code in
February and bought 2,000 yuan there (cost 1,000: 200,000 - 100,000 - 4,000 - 15% = 66,000 fen)
and 500 yuan more without a cost. A4 came through clerk li's code in July and bought 300 yuan
without a store (cost 100: 30,000 - 10,000 - 600 - 2% = 18,800 fen). A5 came on their own.
"""

from __future__ import annotations

from datetime import date

import pytest

from club.db.models.members import Member
from club.members.contact import record_follow, record_unfollow
from club.reports.channels import channels_report
from club.reports.filters import build_filter
from club.reports.pareto import pareto_report
from club.reports.rankings import kept_ranking
from club.rules.channels import ChannelLevel
from club.sales.purchases import PurchaseLine, record_purchase, upsert_store
from club.staff.accounts import create_staff
from club.value.refresh import refresh_values
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, YUAN, at

pytestmark = pytest.mark.usefixtures("db")


async def member(name: str, day: str, scene: str | None, n: int) -> int:
    follow = await record_follow(f"o-{name}", now=at(day), scene=scene, wechat_create_time=n)
    await Member.filter(id=follow.member_id).update(
        joined_at=at(day), consent_at=at(day), tier="taste"
    )
    return follow.member_id


async def buy(
    member_id: int, order: str, day: str, sale: int, cost: int | None, store: str | None
) -> None:
    await record_purchase(
        member_id=member_id,
        order_id=order,
        amount_fen=sale * YUAN,
        store_id=store,
        items=[PurchaseLine("X", 1, sale * YUAN, None if cost is None else cost * YUAN)],
        now=at(day),
        programme=PROGRAMME,
    )


async def build_channels() -> int:
    await upsert_store("S1", "社区小店", ChannelLevel.SMALL_SHOP)
    await upsert_store("K1", "万达店", ChannelLevel.KEY_ACCOUNT)
    clerk, _ = await create_staff("li", "clerk", now=NOW)
    a1 = await member("A1", "2026-03-01", "store_S1", 1)
    await buy(a1, "A1-1", "2026-06-01", 1_000, 400, "S1")
    await member("A2", "2025-06-01", "store_S1", 2)
    await record_unfollow("o-A2", now=at("2026-05-01"), wechat_create_time=3)
    a3 = await member("A3", "2026-02-01", "store_K1", 4)
    await buy(a3, "A3-1", "2026-04-01", 2_000, 1_000, "K1")
    await buy(a3, "A3-2", "2026-09-01", 500, None, "K1")
    a4 = await member("A4", "2026-07-01", f"staff_{clerk.id}", 5)
    await buy(a4, "A4-1", "2026-08-01", 300, 100, None)
    a5 = await member("A5", "2026-07-01", None, 6)
    await buy(a5, "A5-1", "2026-08-01", 9_000, 100, None)
    return int(clerk.id)


async def test_members_brought_in_and_what_they_are_worth() -> None:
    clerk = await build_channels()
    rows = await channels_report(
        build_filter(today=NOW.date(), tz=TZ, months=12), PROGRAMME.value, now=NOW
    )
    got = [
        (
            r.kind,
            r.ref,
            r.name,
            r.level,
            r.members,
            r.new_members,
            r.following,
            r.retention,
            r.buyers,
            r.sales_fen,
            r.profit_fen,
            r.missing_cost_purchases,
            r.sales_per_member_fen,
        )
        for r in rows
    ]
    assert got == [
        ("store", "K1", "万达店", "key_account", 1, 1, 1, 1.0, 1, 250_000, 66_000, 1, 250_000),
        ("store", "S1", "社区小店", "small_shop", 2, 1, 1, 0.5, 1, 100_000, 52_000, 0, 50_000),
        ("staff", str(clerk), "li", None, 1, 1, 1, 1.0, 1, 30_000, 18_800, 0, 30_000),
    ]


async def test_channels_filtered_by_level_and_store() -> None:
    await build_channels()
    small = await channels_report(
        build_filter(today=NOW.date(), tz=TZ, months=12, level="small_shop"),
        PROGRAMME.value,
        now=NOW,
    )
    assert [r.ref for r in small] == ["S1"]
    k1 = await channels_report(
        build_filter(today=NOW.date(), tz=TZ, months=12, store="K1"), PROGRAMME.value, now=NOW
    )
    assert [r.ref for r in k1] == ["K1"]


async def test_the_snapshot_gives_the_same_channel_figures() -> None:
    await build_channels()
    flt = build_filter(today=NOW.date(), tz=TZ, months=12)
    live = await channels_report(flt, PROGRAMME.value, now=NOW)
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    assert await channels_report(flt, PROGRAMME.value, now=NOW) == live


async def test_a_period_ranked_by_the_pareto_report_gives_the_same_channel_figures() -> None:
    await build_channels()
    flt = build_filter(today=NOW.date(), tz=TZ, months=12, start=date(2026, 1, 1))
    live = await channels_report(flt, PROGRAMME.value, now=NOW)
    assert sum(r.sales_fen for r in live) > 0
    await pareto_report(flt, PROGRAMME.value, now=NOW)
    assert await kept_ranking(flt, PROGRAMME.value, usable=True, now=NOW) is not None
    assert await channels_report(flt, PROGRAMME.value, now=NOW) == live
