"""A period's first 80/20 report ranked in the background: asks wait a while, then are told to
ask again; one ranking per period however often it is asked; a failed or stopped ranking leaves
nothing and the next ask ranks again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import date

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from club.db.models.value import Ranking
from club.reports import ranker as ranker_module
from club.reports import rankings
from club.reports.filters import ReportFilter, build_filter
from club.reports.pareto import pareto_report
from club.reports.ranker import Ranker, RankingPending
from club.reports.rankings import ranking_for
from club.reports.sql import fetch
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, SlowRanking, build_domain_example

pytestmark = pytest.mark.usefixtures("db")
RULES = PROGRAMME.value


def period(**narrowed: str) -> ReportFilter:
    """March to October 2026 (`level` or `store` as given)."""
    return build_filter(
        today=NOW.date(),
        tz=TZ,
        months=12,
        start=date(2026, 3, 1),
        end=date(2026, 10, 31),
        **narrowed,  # type: ignore[arg-type]
    )


PERIOD = period()


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowRanking]:
    slow = SlowRanking()
    monkeypatch.setattr(ranker_module, "ranking_for", slow)
    yield slow
    slow.gate.set()


async def ranked(ranker: Ranker) -> None:
    """Until the ranker has nothing in flight (a fixed 0.05 s failed at load 9)."""
    for _ in range(1000):
        if not ranker.in_flight:
            return
        await asyncio.sleep(0.01)


async def test_a_small_club_is_answered_at_once() -> None:
    await build_domain_example()
    ranker = Ranker()
    report = await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    assert report.as_of == NOW.date() and ranker.in_flight == 0
    assert {lv.level for lv in report.levels} >= {"key_account", "small_shop"}
    assert await Ranking.filter(snapshot=False).count() == 1


async def test_a_long_ranking_is_pending_then_read_once_ranked(slow: SlowRanking) -> None:
    await build_domain_example()
    ranker = Ranker(wait=0.05)
    with pytest.raises(RankingPending) as first:
        await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    assert (first.value.start_day, first.value.end_day) == (date(2026, 3, 1), date(2026, 10, 31))
    assert first.value.started_at == NOW and first.value.retry_after == 5
    # Asked again meanwhile, for another level too: the same ranking, not a second one.
    for flt in (PERIOD, period(level="key_account")):
        with pytest.raises(RankingPending):
            await pareto_report(flt, RULES, now=NOW, ranker=ranker)
    assert slow.started == 1 and ranker.in_flight == 1
    assert await Ranking.filter(snapshot=False).count() == 0  # nothing half-visible
    slow.gate.set()
    await ranked(ranker)
    ranker.wait = 30.0  # reading the kept ranking, given the time a loaded machine needs
    report = await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    assert report.as_of == NOW.date() and ranker.in_flight == 0
    assert await Ranking.filter(snapshot=False).count() == 1
    # Later asks read the kept ranking: the same answer, nothing ranked again.
    again = await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    assert again == report
    assert await Ranking.filter(snapshot=False).count() == 1


async def test_a_failed_ranking_is_logged_and_the_next_ask_ranks_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await build_domain_example()
    failing = SlowRanking(fail=True)
    monkeypatch.setattr(ranker_module, "ranking_for", failing)
    ranker = Ranker(wait=0.05)
    with pytest.raises(RankingPending):
        await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    with caplog.at_level(logging.ERROR, logger="club.reports.ranker"):
        failing.gate.set()
        await ranked(ranker)
    assert ranker.in_flight == 0
    assert "ranking 2026-03-01..2026-10-31 failed" in caplog.text
    monkeypatch.setattr(ranker_module, "ranking_for", ranking_for)
    ranker.wait = 30.0  # the real ranking, given the time a loaded machine needs for it
    report = await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    assert report.as_of == NOW.date()
    assert await Ranking.filter(snapshot=False).count() == 1


async def test_closing_stops_a_ranking_and_keeps_nothing(slow: SlowRanking) -> None:
    await build_domain_example()
    ranker = Ranker(wait=0.05)
    with pytest.raises(RankingPending):
        await pareto_report(PERIOD, RULES, now=NOW, ranker=ranker)
    await ranker.close()
    assert ranker.in_flight == 0
    assert await Ranking.filter(snapshot=False).count() == 0


async def test_a_store_is_ranked_live_without_the_ranker(slow: SlowRanking) -> None:
    await build_domain_example()
    ranker = Ranker(wait=0.05)
    report = await pareto_report(period(store="A"), RULES, now=NOW, ranker=ranker)
    assert report.as_of is None and slow.started == 0
    assert sorted(c.id for c in report.customers) == ["1", "A"]  # the store and its buyer


async def test_a_period_another_process_is_ranking_is_waited_for_without_a_held_connection(
    pg_only: None,
) -> None:
    """Two processes ask for the same new period: the second waits for the first's ranking,
    reading again each second, instead of sitting on the ranking's unique key for the whole
    ranking with a connection held; it ranks nothing itself."""
    await build_domain_example()
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(rankings, "ELSEWHERE_POLL_S", 0.05)
    ranked, finish = asyncio.Event(), asyncio.Event()

    async def other_process() -> None:  # mid-ranking, with the period's lock
        async with in_transaction("default") as other:
            key = {"key": rankings._lock_key(PERIOD, RULES)}
            await fetch("SELECT pg_advisory_xact_lock(:key) AS taken", key, conn=other)
            await rankings._rank(other, PERIOD, RULES, NOW, snapshot=False)
            ranked.set()
            await finish.wait()

    try:
        other = asyncio.create_task(other_process())
        await asyncio.wait_for(ranked.wait(), 5)
        asking = asyncio.create_task(ranking_for(PERIOD, RULES, NOW))
        await asyncio.sleep(0.5)
        assert not asking.done()
        waiting = await fetch(
            "SELECT COUNT(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'",
            conn=connections.get("default"),
        )
        assert waiting[0]["n"] == 0
        finish.set()
        await other
        kept = await asyncio.wait_for(asking, 5)
    finally:
        finish.set()
        monkeypatch.undo()
    assert kept is not None
    assert await Ranking.all().values_list("id", flat=True) == [kept.id]
