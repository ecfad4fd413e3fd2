"""The reports' default answers kept from the daily runs: served for exactly the default
parameters, equal to the live answer, replaced by the next run, bypassed by any filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from club.db.models.members import Member
from club.db.models.value import ReportAnswer
from club.reports.answers import NAMES, PAGED
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from tests.bot.test_staff_api_support import Client, staff_headers
from tests.club.value.fixtures import (
    NOW,
    PROGRAMME,
    build_consumers,
    build_domain_example,
    build_drifters,
)
from tests.club.value.test_channels import build_channels

EARLIER = NOW - timedelta(minutes=5)
"""When the runs computed the answers: a stored answer says so, a live one says NOW (but an
80/20 answer read from the refresh's kept ranking says when that was computed)."""


def ranked_by_the_refresh(name: str, params: dict[str, str]) -> bool:
    """An 80/20 answer of the default period and any level, list or page reads the ranking the
    value-refresh kept (a store's report ranks live, another period is ranked when asked)."""
    return name == "pareto" and not {"store", "from"} & set(params)


async def build_all() -> None:
    await build_domain_example()
    await build_consumers()
    await build_drifters()
    await build_channels()
    await refresh_values(EARLIER.date(), EARLIER, PROGRAMME)
    await scan_churn(EARLIER.date(), EARLIER, PROGRAMME)


@pytest.fixture
async def headers(client: Client) -> dict[str, str]:
    return (await staff_headers())["marketer"]


async def get(
    client: Client, headers: dict[str, str], name: str, **params: str
) -> tuple[dict[str, Any], bytes]:
    url = f"/api/v1/reports/{name}"
    resp = await client.get(url, params=params, headers=headers)
    body = await resp.json()
    assert resp.status == 200, (name, body)
    resp = await client.get(url, params={**params, "format": "csv"}, headers=headers)
    assert resp.status == 200, name
    return body, await resp.read()


def computed_at(body: dict[str, Any]) -> str:
    return str(body.pop("computed_at"))


async def test_stored_answers_equal_the_live_ones_in_json_and_csv(
    client: Client, headers: dict[str, str]
) -> None:
    await build_all()
    assert await ReportAnswer.all().count() == 5 * 2 + 3  # paged ones: 50 and 100 rows
    pages = {name: {"limit": "50"} for name in PAGED}  # the console's page
    stored: dict[tuple[str, str], tuple[dict[str, Any], bytes]] = {}
    for name in NAMES:
        for page in ("default", "page"):
            body, csv = await get(
                client, headers, name, **(pages.get(name, {}) if page == "page" else {})
            )
            assert computed_at(body).startswith(EARLIER.isoformat()[:16]), name
            stored[name, page] = body, csv
    await ReportAnswer.all().delete()
    for (name, page), (body, csv) in stored.items():
        live, live_csv = await get(
            client, headers, name, **(pages.get(name, {}) if page == "page" else {})
        )
        expected = EARLIER if ranked_by_the_refresh(name, {}) else NOW
        assert computed_at(live).startswith(expected.isoformat()[:16]), name
        assert live == body, name
        assert live_csv == csv, name
    assert len(stored["rfm", "default"][0]["rows"]) == 29  # every valued member
    assert stored["quadrants", "default"][0]["rows"], "the fixtures list members"
    assert stored["churn", "default"][0]["rows"] and stored["channels", "default"][0]["rows"]
    assert stored["exits", "default"][0]["cells"] and stored["tiers", "default"][0]["rows"]


async def test_a_run_replaces_the_stored_answers(client: Client, headers: dict[str, str]) -> None:
    ids = await build_consumers()
    await refresh_values(EARLIER.date(), EARLIER, PROGRAMME)
    await scan_churn(EARLIER.date(), EARLIER, PROGRAMME)
    first = {a.name: a.body for a in await ReportAnswer.all()}
    await scan_churn(EARLIER.date(), EARLIER, PROGRAMME)  # the same day again: the same content
    assert {a.name: a.body for a in await ReportAnswer.all()} == first
    body, _ = await get(client, headers, "rfm")
    assert "张三" not in {r["name"] for r in body["rows"]}
    await Member.filter(id=ids["M2"]).update(name="张三")
    body, _ = await get(client, headers, "rfm")
    assert "张三" not in {r["name"] for r in body["rows"]}, "served from storage until a run"
    later = EARLIER + timedelta(minutes=1)
    await scan_churn(later.date(), later, PROGRAMME)
    assert await ReportAnswer.all().count() == 13
    body, _ = await get(client, headers, "rfm")
    assert computed_at(body).startswith(later.isoformat()[:16])
    assert "张三" in {r["name"] for r in body["rows"]}


async def test_filters_other_lists_and_pages_are_computed_live(
    client: Client, headers: dict[str, str]
) -> None:
    await build_all()
    asked: list[tuple[str, dict[str, str]]] = [
        *((name, {"level": "small_shop"}) for name in NAMES),
        *((name, {"store": "S1"}) for name in NAMES),
        *((name, {"from": "2026-01-01"}) for name in NAMES),
        *((name, {"to": NOW.date().isoformat()}) for name in NAMES),
        ("pareto", {"segment": "key"}),
        ("classes", {"change": "all"}),
        ("quadrants", {"quadrant": "develop"}),
        ("churn", {"reason": "silent"}),
        ("rfm", {"offset": "1", "limit": "50"}),
        ("pareto", {"limit": "3"}),
        ("churn", {"limit": "101"}),
    ]
    for name, params in asked:
        body, _ = await get(client, headers, name, **params)
        expected = EARLIER if ranked_by_the_refresh(name, params) else NOW
        assert computed_at(body).startswith(expected.isoformat()[:16]), (name, params)
    body, _ = await get(client, headers, "churn")
    assert computed_at(body).startswith(EARLIER.isoformat()[:16])


async def test_yesterdays_answers_are_not_served_today(
    client: Client, headers: dict[str, str]
) -> None:
    yesterday = NOW - timedelta(days=1)
    await build_consumers()
    await refresh_values(yesterday.date(), yesterday, PROGRAMME)
    assert await ReportAnswer.all().count() == 13
    for name in NAMES:
        body, _ = await get(client, headers, name)
        assert computed_at(body).startswith(NOW.isoformat()[:16]), name
