"""Exits recorded with their context, and the exit report, on members worked out by hand.

E1 came through small shop S1's QR code on 1 September, joined, bought on 10 September, tried
an unknown bottle code on 1 October, asked for staff (人工) on 2 October and unfollowed on
5 October (tenure 34 days). E2 followed through clerk 7's code on 1 January, never joined or
bought, and unfollowed on 20 October (292 days after the follow). E3 joined on 10 January,
bought on 1 February and was never heard from again: dormant at the scan of 23 November
(316 days and 22 hours after joining).
"""

from __future__ import annotations

from datetime import date

import pytest

from club.db.models.catalog import FailedCodeAttempt
from club.db.models.members import Member
from club.db.models.value import ExitKind, MemberExit
from club.members.contact import record_follow, record_unfollow
from club.reports.exits import exits_report
from club.reports.filters import build_filter
from club.rules.channels import ChannelLevel
from club.sales.purchases import PurchaseLine, record_purchase, upsert_store
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from club.value.tickets import open_ticket
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, YUAN, at

pytestmark = pytest.mark.usefixtures("db")


async def build_exits() -> dict[str, int]:
    await upsert_store("S1", "社区小店", ChannelLevel.SMALL_SHOP)
    e1 = await record_follow("o-E1", now=at("2026-09-01"), scene="store_S1", wechat_create_time=1)
    await Member.filter(id=e1.member_id).update(
        joined_at=at("2026-09-01"), consent_at=at("2026-09-01"), tier="taste"
    )
    await record_purchase(
        member_id=e1.member_id,
        order_id="E1-1",
        amount_fen=600 * YUAN,
        items=[PurchaseLine("X", 1, 600 * YUAN, 200 * YUAN)],
        now=at("2026-09-10"),
        programme=PROGRAMME,
    )
    e2 = await record_follow("o-E2", now=at("2026-01-01"), scene="staff_7", wechat_create_time=2)
    e3 = await Member.create(
        openid="o-E3", tier="taste", joined_at=at("2026-01-10"), consent_at=at("2026-01-10")
    )
    await record_purchase(
        member_id=e3.id,
        order_id="E3-1",
        amount_fen=300 * YUAN,
        now=at("2026-02-01"),
        programme=PROGRAMME,
    )
    await refresh_values(date(2026, 10, 4), at("2026-10-04"), PROGRAMME)
    await FailedCodeAttempt.create(member_id=e1.member_id, at=at("2026-10-01"), outcome="unknown")
    await open_ticket(e1.member_id, now=at("2026-10-02"))  # asked for staff three days before
    assert await record_unfollow("o-E1", now=at("2026-10-05"), wechat_create_time=3)
    assert not await record_unfollow("o-E1", now=at("2026-10-05"), wechat_create_time=3)  # retry
    assert await record_unfollow("o-E2", now=at("2026-10-20"), wechat_create_time=4)
    counts = await scan_churn(NOW.date(), NOW, PROGRAMME)
    assert counts["dormant"] == 1
    assert (await scan_churn(NOW.date(), NOW, PROGRAMME))["dormant"] == 0  # once per spell
    return {"E1": e1.member_id, "E2": e2.member_id, "E3": e3.id}


async def test_an_unfollow_keeps_the_context_of_the_moment() -> None:
    ids = await build_exits()
    e1 = await MemberExit.get(member_id=ids["E1"])
    assert (e1.kind, e1.at, e1.tier, e1.value_class) == (
        ExitKind.UNFOLLOW,
        at("2026-10-05"),
        "taste",
        "A",
    )
    assert (e1.tenure_days, e1.joined, e1.source_kind, e1.source_ref, e1.origin_level) == (
        34,
        True,
        "store",
        "S1",
        "small_shop",
    )
    assert (e1.last_purchase_at, e1.last_failed_code_at) == (at("2026-09-10"), at("2026-10-01"))
    assert e1.last_complaint_at == at("2026-10-02")
    e2 = await MemberExit.get(member_id=ids["E2"])
    assert (e2.tier, e2.value_class, e2.joined, e2.tenure_days) == (None, None, False, 292)
    assert (e2.source_kind, e2.origin_level, e2.last_purchase_at) == ("staff", None, None)
    e3 = await MemberExit.get(member_id=ids["E3"])
    assert (e3.kind, e3.at, e3.last_active_at, e3.tenure_days) == (
        ExitKind.DORMANT,
        NOW,
        at("2026-02-01"),
        316,
    )
    assert await MemberExit.all().count() == 3


async def test_exit_report_by_month_tier_and_channel() -> None:
    await build_exits()
    flt = build_filter(
        today=NOW.date(), tz=TZ, months=12, start=date(2026, 10, 1), end=date(2026, 11, 30)
    )
    report = await exits_report(flt)
    assert (report.exits, report.unfollows, report.dormant) == (3, 2, 1)
    assert [
        (c.month, c.kind, c.tier, c.channel, c.exits, c.avg_tenure_days) for c in report.cells
    ] == [
        ("2026-10", "unfollow", None, "staff", 1, 292),
        ("2026-10", "unfollow", "taste", "small_shop", 1, 34),
        ("2026-11", "dormant", "taste", "direct", 1, 316),
    ]
    shop = report.cells[1]
    assert (shop.purchase_90d, shop.failed_code_7d, shop.never_purchased) == (1, 1, 0)
    assert shop.complaint_30d == 1 and report.cells[0].complaint_30d == 0
    assert report.cells[0].never_purchased == 1 and report.cells[2].purchase_90d == 0
    assert [(c.key, c.exits) for c in report.by_class] == [("A", 1), ("C", 1), (None, 1)]
    assert [(c.key, c.exits) for c in report.by_tenure] == [
        ("tenure_under_30d", 0),
        ("tenure_30_90d", 1),
        ("tenure_90_365d", 2),
        ("tenure_over_365d", 0),
    ]
    small = await exits_report(build_filter(today=NOW.date(), tz=TZ, months=12, level="small_shop"))
    assert small.exits == 1 and small.cells[0].channel == "small_shop"
    by_store = await exits_report(build_filter(today=NOW.date(), tz=TZ, months=12, store="S1"))
    assert by_store.exits == 1
