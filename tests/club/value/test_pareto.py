"""The 80/20 report on the domain notes' example (see fixtures.py for the sums by hand)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta

import pytest

from club.db.models.value import CustomerValue, Ranking
from club.reports.filters import build_filter
from club.reports.pareto import pareto_report
from club.reports.pareto_rows import Segment
from club.reports.rankings import kept_ranking
from club.value.refresh import refresh_values
from tests.club.value.fixtures import (
    KEY_ACCOUNT_PROFIT,
    KEY_ACCOUNT_SALES,
    NOW,
    PROGRAMME,
    SMALL_SHOP_PROFIT,
    SMALL_SHOP_SALES,
    TZ,
    YUAN,
    build_domain_example,
)

pytestmark = pytest.mark.usefixtures("db")
RULES = PROGRAMME.value


def period(**kwargs: object) -> object:
    return build_filter(today=NOW.date(), tz=TZ, months=12, **kwargs)  # type: ignore[arg-type]


async def test_key_accounts_sales_set_differs_from_profit_set() -> None:
    await build_domain_example()
    report = await pareto_report(period(level="key_account"), RULES, limit=100, now=NOW)  # type: ignore[arg-type]
    [level] = report.levels
    assert level.level == "key_account"
    assert (level.customers, level.sales_fen, level.profit_fen) == (
        10,
        KEY_ACCOUNT_SALES,
        KEY_ACCOUNT_PROFIT,
    )
    by_id = {c.id: c for c in report.customers}
    assert {c.id for c in report.customers if c.key_by_sales} == {"A", "B"}
    assert {c.id for c in report.customers if c.key_by_profit} == {"A", "C"}
    assert {c.id: c.segment for c in report.customers if c.segment != "other"} == {
        "A": "both",
        "B": "sales_only",
        "C": "profit_only",
        "D": "potential",
    }
    assert (level.key_by_sales, level.key_by_profit, level.both) == (2, 2, 1)
    assert (level.sales_only, level.profit_only, level.potential) == (1, 1, 1)
    assert [c.id for c in report.customers] == list("ABCDEFGHIJ")  # by sales rank
    assert [by_id[x].profit_rank for x in "ACB"] == [1, 2, 3]
    assert by_id["A"].profit_fen == 16_500 * YUAN and by_id["B"].profit_fen == 400 * YUAN
    assert by_id["C"].profit_fen == 5_640 * YUAN and by_id["D"].profit_fen == 90 * YUAN
    assert by_id["B"].cumulative_sales_share == 0.8
    assert by_id["D"].rising and by_id["D"].purchases == 2
    assert level.sales_curve[0].customers == 0.1 and level.sales_curve[0].value == 0.5
    assert level.sales_curve[1].value == 0.8 and level.sales_curve[-1].value == 1.0
    assert len(level.sales_curve) == 10 and len(level.profit_curve) == 10
    assert level.profit_curve[1].value == round((16_500 + 5_640) / 22_900, 6)


async def test_small_shops_carry_half_the_sales_and_most_of_the_profit() -> None:
    await build_domain_example()
    report = await pareto_report(period(), RULES, segment=Segment.KEY, now=NOW)  # type: ignore[arg-type]
    levels = {lv.level: lv for lv in report.levels}
    assert list(levels) == ["key_account", "small_shop", "consumer"]
    small = levels["small_shop"]
    assert (small.sales_fen, small.profit_fen) == (SMALL_SHOP_SALES, SMALL_SHOP_PROFIT)
    assert small.share_of_store_sales == 0.5
    assert small.share_of_store_profit == round(41_580 / 64_480, 6)
    assert levels["key_account"].share_of_store_sales == 0.5
    # The purchase without a cost is reported as missing, never counted as free.
    assert (small.missing_cost_purchases, small.missing_cost_sales_fen) == (1, 1_000 * YUAN)
    s3 = await pareto_report(period(store="S3"), RULES, now=NOW)  # type: ignore[arg-type]
    store_row = next(c for c in s3.customers if c.kind == "store")
    assert store_row.profit_fen is None and store_row.missing_cost_purchases == 1
    # Consumers: every buyer is a customer of their own, whatever the store's level.
    consumers = levels["consumer"]
    assert consumers.customers == 14 and consumers.sales_fen == KEY_ACCOUNT_SALES + SMALL_SHOP_SALES
    assert consumers.share_of_store_sales is None
    # Key segment only: A, B, C at key accounts, and the small shops' key customers.
    assert {(c.level, c.id) for c in report.customers if c.kind == "store"} >= {
        ("key_account", "A"),
        ("key_account", "B"),
        ("key_account", "C"),
        ("small_shop", "S1"),
        ("small_shop", "S2"),
    }
    assert all(c.segment in ("both", "sales_only", "profit_only") for c in report.customers)


async def test_a_period_without_sales_is_empty_and_pages_count() -> None:
    await build_domain_example()
    empty = await pareto_report(
        period(start=date(2025, 1, 1), end=date(2025, 1, 31)),
        RULES,  # type: ignore[arg-type]
        now=NOW,
    )
    assert empty.levels == [] and empty.customers == []
    page = await pareto_report(period(level="key_account"), RULES, limit=3, offset=3, now=NOW)  # type: ignore[arg-type]
    assert [c.id for c in page.customers] == ["D", "E", "F"]
    assert page.total_customers == 10


async def test_a_period_is_ranked_once_and_its_pages_lists_and_levels_read_the_ranking() -> None:
    await build_domain_example()
    spring = period(start=date(2026, 3, 1), end=date(2026, 11, 23))
    # Ranked from the purchases, keeping nothing (a programme that keeps no rankings).
    live = await pareto_report(spring, replace(RULES, kept_rankings=0), limit=100, now=NOW)  # type: ignore[arg-type]
    assert live.as_of is None and live.computed_at is None
    assert await Ranking.all().count() == 0
    first = await pareto_report(spring, RULES, limit=100, now=NOW)  # type: ignore[arg-type]
    assert first.as_of == NOW.date() and first.computed_at is not None
    assert await Ranking.all().count() == 1
    assert (first.levels, first.customers) == (live.levels, live.customers)
    # Another page, list and level of the same period read the kept ranking.
    key = await pareto_report(
        period(start=date(2026, 3, 1), end=date(2026, 11, 23), level="key_account"),
        RULES,  # type: ignore[arg-type]
        segment=Segment.KEY,
        now=NOW,
    )
    assert [c.id for c in key.customers] == ["A", "B", "C"]
    page = await pareto_report(
        period(start=date(2026, 3, 1), end=date(2026, 11, 23), level="key_account"),
        RULES,  # type: ignore[arg-type]
        limit=3,
        offset=3,
        now=NOW,
    )
    assert [c.id for c in page.customers] == ["D", "E", "F"]
    assert {key.computed_at, page.computed_at} == {first.computed_at}
    assert await Ranking.all().count() == 1
    # A store's report ranks its own purchases, live, and keeps nothing.
    s1 = await pareto_report(period(store="S1"), RULES, now=NOW)  # type: ignore[arg-type]
    assert s1.as_of is None and await Ranking.all().count() == 1


async def test_the_refresh_snapshot_answers_the_default_period_with_the_same_answer() -> None:
    await build_domain_example()
    live = await pareto_report(period(), RULES, limit=100, now=NOW)  # type: ignore[arg-type]
    assert live.as_of == NOW.date()  # asked before the refresh ran: ranked and kept
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    stored = await pareto_report(period(), RULES, limit=100, now=NOW)  # type: ignore[arg-type]
    assert stored.as_of == NOW.date()
    assert (stored.levels, stored.customers) == (live.levels, live.customers)
    key = await pareto_report(period(level="key_account"), RULES, segment=Segment.KEY, now=NOW)  # type: ignore[arg-type]
    assert key.as_of == NOW.date() and [c.id for c in key.customers] == ["A", "B", "C"]
    assert await Ranking.filter(snapshot=False).count() == 0  # nothing ranked beside it


async def test_a_report_that_looked_up_the_snapshot_still_reads_it_after_the_next_refresh() -> None:
    await build_domain_example()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    looked_up = await kept_ranking(period(), RULES, now=NOW)  # type: ignore[arg-type]
    assert looked_up is not None
    rows = await CustomerValue.filter(ranking_id=looked_up.id).count()
    # The next day's refresh commits while that report is still on its way to the rows.
    tomorrow = NOW + timedelta(days=1)
    await refresh_values(tomorrow.date(), tomorrow, PROGRAMME)
    assert rows > 0 and await CustomerValue.filter(ranking_id=looked_up.id).count() == rows
    new = await Ranking.get(snapshot=True)
    assert new.id != looked_up.id and new.as_of == tomorrow.date()
    # A report's first ask does not wait for deleting it: the next day's refresh drops it.
    later = build_filter(
        today=tomorrow.date(), tz=TZ, months=12, start=date(2026, 6, 1), end=date(2026, 7, 1)
    )
    await pareto_report(later, RULES, now=tomorrow + timedelta(minutes=6))
    assert await Ranking.filter(id=looked_up.id).exists()
    after = NOW + timedelta(days=2)
    await refresh_values(after.date(), after, PROGRAMME)
    assert not await Ranking.filter(id=looked_up.id).exists()
    assert await CustomerValue.filter(ranking_id=looked_up.id).count() == 0


async def test_the_least_recently_read_ranking_goes_and_a_new_day_ranks_again() -> None:
    await build_domain_example()
    rules = replace(RULES, kept_rankings=2)
    months = [period(start=date(2026, m, 1), end=date(2026, m + 1, 1)) for m in (6, 7, 8, 9)]
    minute = timedelta(minutes=1)
    await pareto_report(months[0], rules, now=NOW - 30 * minute)  # type: ignore[arg-type]
    await pareto_report(months[1], rules, now=NOW - 20 * minute)  # type: ignore[arg-type]
    await pareto_report(months[0], rules, now=NOW - 10 * minute)  # type: ignore[arg-type]
    # June was read again since July: July is the least recently read, and goes.
    await pareto_report(months[2], rules, now=NOW)  # type: ignore[arg-type]
    kept = await Ranking.all().order_by("start_day").values_list("start_day", flat=True)
    assert kept == [date(2026, 6, 1), date(2026, 8, 1)]
    # A ranking read in the last five minutes stays, past the programme's number, for a
    # report that may be reading it: August (read at NOW) is the least recently read here.
    await pareto_report(months[0], rules, now=NOW + minute)  # type: ignore[arg-type]
    await pareto_report(months[3], rules, now=NOW + 2 * minute)  # type: ignore[arg-type]
    assert await Ranking.all().count() == 3
    await pareto_report(months[3], rules, now=NOW + 6 * minute)  # type: ignore[arg-type]
    await pareto_report(months[0], rules, now=NOW + 7 * minute)  # type: ignore[arg-type]
    await pareto_report(months[1], rules, now=NOW + 8 * minute)  # type: ignore[arg-type]
    kept = await Ranking.all().order_by("start_day").values_list("start_day", flat=True)
    assert kept == [date(2026, 6, 1), date(2026, 7, 1), date(2026, 9, 1)]  # August went
    # Asked the next day, a period is ranked again (returns may have changed it); the rankings
    # of the day before are never read again, and the next refresh drops them.
    tomorrow = build_filter(
        today=NOW.date() + timedelta(days=1),
        tz=TZ,
        months=12,
        start=date(2026, 8, 1),
        end=date(2026, 9, 1),
    )
    report = await pareto_report(tomorrow, rules, now=NOW + timedelta(days=1))
    assert report.as_of == NOW.date() + timedelta(days=1)
    assert await Ranking.filter(as_of=NOW.date()).count() == 3
    await refresh_values(tomorrow.today, NOW + timedelta(days=1), PROGRAMME)
    assert set(await Ranking.all().values_list("as_of", flat=True)) == {tomorrow.today}


async def test_two_reports_asking_for_a_new_period_at_once_rank_it_once() -> None:
    await build_domain_example()
    spring = period(start=date(2026, 3, 1), end=date(2026, 5, 31))
    one, two = await asyncio.gather(
        pareto_report(spring, RULES, now=NOW),  # type: ignore[arg-type]
        pareto_report(spring, RULES, now=NOW),  # type: ignore[arg-type]
    )
    assert (one.levels, one.customers) == (two.levels, two.customers)
    assert await Ranking.all().count() == 1
