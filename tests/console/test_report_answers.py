"""A report page says when its answer was computed: the stored default answer of the day's
churn-scan, or now for a filtered one."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from bot.deps import DEPS
from club.clock import FixedClock
from club.reports import ranker as ranker_module
from club.reports.ahead import rank_ahead
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from tests.club.value.fixtures import (
    PROGRAMME,
    SlowRanking,
    build_consumers,
    build_domain_example,
)
from tests.console.support import Client, sign_in, staff_with_password


async def test_report_page_shows_when_its_answer_was_computed(
    console_client: Client, clock: FixedClock
) -> None:
    await build_consumers()
    scanned = clock.now() - timedelta(hours=7)  # 03:00 in Shanghai, the same day
    await refresh_values(scanned.date(), scanned, PROGRAMME)
    await scan_churn(scanned.date(), scanned, PROGRAMME)
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    page = await (await console_client.get("/console/reports/rfm")).text()
    assert '<span id="computed-at">计算于 2026-11-23 03:00</span>' in page and "M1" in page
    page = await (await console_client.get("/console/reports/rfm?level=consumer")).text()
    assert '<span id="computed-at">计算于 2026-11-23 10:00</span>' in page


async def test_a_period_still_being_ranked_shows_a_page_that_asks_again(
    console_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a new period's customers are ranked, the 80/20 page says so and refreshes itself
    after Retry-After; its CSV link leads back to that page; once ranked, both answer."""
    await build_domain_example()
    slow = SlowRanking()
    monkeypatch.setattr(ranker_module, "ranking_for", slow)
    console_client.app[DEPS].ranker.wait = 0.05
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    asked = "from=2026-03-01&to=2026-10-31"
    resp = await console_client.get(f"/console/reports/pareto?{asked}")
    page = await resp.text()
    assert resp.status == 200
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "正在为这个时段的全部客户排名" in page and "本页 5 秒后自动刷新" in page
    csv = await console_client.get(f"/console/reports/pareto.csv?{asked}", allow_redirects=False)
    assert csv.status == 303
    assert csv.headers["Location"] == f"/console/reports/pareto?{asked}"
    assert slow.started == 1
    slow.gate.set()
    ranker = console_client.app[DEPS].ranker
    for _ in range(1000):  # until the ranking is kept (a fixed 0.05 s failed at load 8-9)
        if not ranker.in_flight:
            break
        await asyncio.sleep(0.01)
    ranker.wait = 30.0  # reading the kept ranking, given the time a loaded machine needs
    page = await (await console_client.get(f"/console/reports/pareto?{asked}")).text()
    assert "http-equiv" not in page and "门店A" in page
    csv = await console_client.get(f"/console/reports/pareto.csv?{asked}")
    assert csv.status == 200 and csv.content_type == "text/csv"


async def test_the_named_periods_are_links_beside_the_dates_and_read_the_nights_ranking(
    console_client: Client, clock: FixedClock
) -> None:
    """Beside its date fields a report offers the named periods as links (the page's level
    kept); last month's, ranked at night by rank-ahead, answers from that ranking."""
    await build_domain_example()
    night = clock.now().replace(hour=1, minute=30)
    await rank_ahead(clock.now().date(), night, PROGRAMME)
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    page = await (await console_client.get("/console/reports/pareto?level=key_account")).text()
    links = re.findall(r'<nav class="periods"[^>]*>(.*?)</nav>', page)[0]
    assert re.findall(r'<a href="([^"]+)"( aria-current="true")?>([^<]+)</a>', links) == [
        ("/console/reports/pareto?level=key_account", ' aria-current="true"', "近12个月"),
        (
            "/console/reports/pareto?from=2026-10-01&amp;to=2026-10-31&amp;level=key_account",
            "",
            "上月",
        ),
        (
            "/console/reports/pareto?from=2026-07-01&amp;to=2026-09-30&amp;level=key_account",
            "",
            "上季度",
        ),
        (
            "/console/reports/pareto?from=2026-01-01&amp;to=2026-11-23&amp;level=key_account",
            "",
            "今年以来",
        ),
        (
            "/console/reports/pareto?from=2025-01-01&amp;to=2025-12-31&amp;level=key_account",
            "",
            "去年",
        ),
    ]
    month = "/console/reports/pareto?from=2026-10-01&to=2026-10-31&level=key_account"
    page = await (await console_client.get(month)).text()
    assert '<span id="computed-at">计算于 2026-11-23 01:30</span>' in page and "门店A" in page
    assert 'aria-current="true">上月</a>' in page
