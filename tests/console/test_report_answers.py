"""A report page says when its answer was computed: the stored default answer of the day's
churn-scan, or now for a filtered one."""

from __future__ import annotations

from datetime import timedelta

from club.clock import FixedClock
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from tests.club.value.fixtures import PROGRAMME, build_consumers
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
