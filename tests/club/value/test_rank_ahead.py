"""The nightly `rank-ahead` job: the named periods and yesterday's asked ones are ranked before
anyone asks, kept all day whatever else is asked, and their 80/20 reports read them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from club.db.models.value import Ranking
from club.reports.ahead import rank_ahead
from club.reports.filters import build_filter
from club.reports.pareto import pareto_report
from club.rules.periods import Preset, parse_presets, preset_period
from club.value.refresh import refresh_values
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, build_domain_example

RULES = PROGRAMME.value
TODAY = NOW.date()  # 2026-11-23
HOUR = timedelta(hours=1)


def period(start: date, end: date, today: date = TODAY, **narrowed: str) -> object:
    return build_filter(today=today, tz=TZ, months=12, start=start, end=end, **narrowed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("today", "preset", "first", "last"),
    [
        (date(2026, 11, 23), Preset.LAST_MONTH, date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 23), Preset.LAST_QUARTER, date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 11, 23), Preset.YEAR_TO_DATE, date(2026, 1, 1), date(2026, 11, 23)),
        (date(2026, 11, 23), Preset.LAST_YEAR, date(2025, 1, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), Preset.LAST_MONTH, date(2025, 12, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), Preset.LAST_QUARTER, date(2025, 10, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), Preset.YEAR_TO_DATE, date(2026, 1, 1), date(2026, 1, 1)),
        (date(2026, 3, 31), Preset.LAST_MONTH, date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 4, 1), Preset.LAST_QUARTER, date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 6, 30), Preset.LAST_QUARTER, date(2026, 1, 1), date(2026, 3, 31)),
        (date(2028, 3, 15), Preset.LAST_MONTH, date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_named_periods(today: date, preset: Preset, first: date, last: date) -> None:
    assert preset_period(preset, today) == (first, last)


def test_a_list_of_period_names() -> None:
    assert parse_presets(["last_year"], "k") == (Preset.LAST_YEAR,)
    for bad, said in (
        (["last_week"], "'last_week' is not a period name"),
        (["last_year", "last_year"], "named twice"),
        ("last_year", "expected a list"),
    ):
        with pytest.raises(ValueError, match=said):
            parse_presets(bad, "value.ranked_ahead")


@pytest.mark.usefixtures("db")
async def test_the_named_periods_are_ranked_once_and_their_reports_read_them() -> None:
    await build_domain_example()
    october = period(date(2026, 10, 1), date(2026, 10, 31))
    live = await pareto_report(october, replace(RULES, kept_rankings=0), limit=100, now=NOW)  # type: ignore[arg-type]
    assert live.computed_at is None  # ranked from the purchases, nothing kept
    counts = await rank_ahead(TODAY, NOW - 8 * HOUR, PROGRAMME)
    assert {k: counts[k] for k in ("periods", "ranked", "already")} == {
        "periods": 4,
        "ranked": 4,
        "already": 0,
    }
    kept = await Ranking.all().order_by("start_day").values_list("start_day", "end_day", "ahead")
    assert kept == [
        (date(2025, 1, 1), date(2025, 12, 31), True),
        (date(2026, 1, 1), date(2026, 11, 23), True),
        (date(2026, 7, 1), date(2026, 9, 30), True),
        (date(2026, 10, 1), date(2026, 10, 31), True),
    ]
    # Each period's stores and buyers (every purchase was a new member's): none in 2025 or in
    # the summer quarter; 13 stores and 14 buyers this year; 13 and 13 in October.
    assert counts["customers"] == (13 + 14) + (13 + 13)
    # Asked in the day, last month's report reads the night's ranking (computed then), and
    # answers as ranking it live does.
    report = await pareto_report(october, RULES, limit=100, now=NOW)  # type: ignore[arg-type]
    assert report.computed_at == NOW - 8 * HOUR
    assert (report.levels, report.customers) == (live.levels, live.customers)
    assert await Ranking.all().count() == 4
    # Run again (a restarted scheduler): nothing ranked twice.
    again = await rank_ahead(TODAY, NOW, PROGRAMME)
    assert (again["ranked"], again["already"]) == (0, 4)
    assert await Ranking.all().count() == 4


@pytest.mark.usefixtures("db")
async def test_rankings_made_ahead_stay_all_day_whatever_else_is_asked() -> None:
    await build_domain_example()
    rules = replace(RULES, kept_rankings=1)
    programme = replace(PROGRAMME, value=rules)
    await rank_ahead(TODAY, NOW - 8 * HOUR, programme)
    # Three other periods asked an hour apart: only the most recently read of them is kept.
    for n, month in enumerate((4, 5, 6)):
        asked = period(date(2026, month, 1), date(2026, month, 28))
        await pareto_report(asked, rules, now=NOW + n * HOUR)  # type: ignore[arg-type]
    asked_kept = await Ranking.filter(ahead=False).values_list("start_day", flat=True)
    assert asked_kept == [date(2026, 6, 1)]
    assert await Ranking.filter(ahead=True).count() == 4


@pytest.mark.usefixtures("db")
async def test_yesterdays_asked_periods_are_ranked_again_and_the_refresh_drops_yesterdays() -> None:
    await build_domain_example()
    yesterday = TODAY - timedelta(days=1)
    programme = replace(PROGRAMME, value=replace(RULES, ranked_ahead=()))
    summer = (date(2026, 6, 1), date(2026, 8, 31))
    spring = (date(2026, 3, 1), date(2026, 5, 31))
    for days, at in ((summer, NOW - 30 * HOUR), (spring, NOW - 29 * HOUR)):
        await pareto_report(period(*days, today=yesterday), RULES, now=at)  # type: ignore[arg-type]
    # Spring was asked today already: kept all day from now on, not ranked again.
    await pareto_report(period(*spring), RULES, now=NOW - 9 * HOUR)  # type: ignore[arg-type]
    counts = await rank_ahead(TODAY, NOW - 8 * HOUR, programme)
    assert {k: counts[k] for k in ("periods", "ranked", "already")} == {
        "periods": 2,
        "ranked": 1,
        "already": 1,
    }
    today = (
        await Ranking.filter(as_of=TODAY).order_by("start_day").values_list("start_day", "ahead")
    )
    assert today == [(spring[0], True), (summer[0], True)]
    # The night's value refresh drops yesterday's rankings, not today's.
    await refresh_values(TODAY, NOW - 7 * HOUR, PROGRAMME)
    assert await Ranking.filter(as_of=yesterday).count() == 0
    assert await Ranking.filter(as_of=TODAY, ahead=True).count() == 2


@pytest.mark.usefixtures("db")
async def test_no_period_named_and_none_asked_ranks_nothing() -> None:
    await build_domain_example()
    programme = replace(PROGRAMME, value=replace(RULES, ranked_ahead=()))
    counts = await rank_ahead(TODAY, NOW, programme)
    assert counts == {"periods": 0, "ranked": 0, "already": 0, "customers": 0}
    assert await Ranking.all().count() == 0
