"""The tier report on the drifters (fixtures.DRIFTERS): C3 and C5 reached gold, the rest taste.

In the 12 months up to NOW: gold C3 2,000 + C5 1,000 yuan; taste C1 2,000 + C2 800 + C4 600
yuan (6,400 in all). No costs were given, so no profit is known and everybody is class C; the
churn-scan flagged C1 (taste), C3 and C5 (gold).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from club.reports.filters import build_filter
from club.reports.pareto import pareto_report
from club.reports.rankings import kept_ranking
from club.reports.tiers import tiers_report
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, YUAN, build_drifters

pytestmark = pytest.mark.usefixtures("db")


async def test_what_each_tier_brings() -> None:
    await build_drifters()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    await scan_churn(NOW.date(), NOW, PROGRAMME)
    rows = await tiers_report(build_filter(today=NOW.date(), tz=TZ, months=12), PROGRAMME, now=NOW)
    got = [
        (
            r.tier,
            r.name,
            r.members,
            r.following,
            r.buyers,
            r.sales_fen,
            r.profit_fen,
            r.missing_cost_purchases,
            r.sales_share,
            r.class_c,
            r.churn_risk,
        )
        for r in rows
    ]
    assert got == [
        ("taste", "品鉴会员", 3, 3, 3, 3_400 * YUAN, None, 10, 0.53125, 3, 1),
        ("gold", "金卡", 2, 2, 2, 3_000 * YUAN, None, 2, 0.46875, 2, 2),
    ]
    assert rows[0].sales_per_member_fen == 3_400 * YUAN // 3
    # Read from the refresh's snapshot above (the same period asked for by its dates too);
    # the same period the next day has no ranking kept and is counted from the purchases,
    # with the same answer (nothing was bought since).
    default = build_filter(today=NOW.date(), tz=TZ, months=12)
    dated = build_filter(
        today=NOW.date(), tz=TZ, months=12, start=default.start_day, end=default.end_day
    )
    assert await tiers_report(dated, PROGRAMME, now=NOW) == rows
    live = replace(dated, today=NOW.date() + timedelta(days=1))
    assert await kept_ranking(live, PROGRAMME.value, now=NOW) is None
    assert await tiers_report(live, PROGRAMME, now=NOW) == rows


async def test_a_period_ranked_by_the_pareto_report_answers_the_tier_report() -> None:
    await build_drifters()
    spring = build_filter(
        today=NOW.date(), tz=TZ, months=12, start=date(2026, 3, 1), end=date(2026, 11, 23)
    )
    live = await tiers_report(spring, PROGRAMME, now=NOW)
    assert sum(r.buyers for r in live) > 0
    await pareto_report(spring, PROGRAMME.value, now=NOW)
    assert await kept_ranking(spring, PROGRAMME.value, now=NOW) is not None
    assert await tiers_report(spring, PROGRAMME, now=NOW) == live
