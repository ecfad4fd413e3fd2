"""The report routes over HTTP: JSON, CSV for Excel, filters, and refusals."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from bot.deps import DEPS
from club.db.models.members import Member
from club.db.models.value import Ranking
from club.reports import ranker as ranker_module
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from tests.bot.test_staff_api_support import Client, audit_rows, error_of, staff_headers
from tests.club.value.fixtures import (
    NOW,
    PROGRAMME,
    SlowRanking,
    build_consumers,
    build_domain_example,
    build_drifters,
)


async def test_pareto_json_names_the_key_customers(client: Client) -> None:
    await build_domain_example()
    headers = (await staff_headers())["marketer"]
    resp = await client.get(
        "/api/v1/reports/pareto",
        params={"level": "key_account", "segment": "key"},
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert body["period"] == {
        "start": "2025-11-24",
        "end": "2026-11-23",
        "level": "key_account",
        "store": None,
    }
    assert {c["id"]: c["segment"] for c in body["customers"]} == {
        "A": "both",
        "B": "sales_only",
        "C": "profit_only",
    }
    assert body["customers"][0]["name"] == "门店A"
    assert body["levels"][0]["share_of_store_sales"] == 1.0  # only one level asked for
    [row] = await audit_rows("report.read")
    assert row.target == "pareto" and row.summary["level"] == "key_account"


async def test_pareto_csv_opens_in_excel_with_chinese_intact(client: Client) -> None:
    await build_domain_example()
    headers = (await staff_headers())["admin"]
    resp = await client.get(
        "/api/v1/reports/pareto",
        params={"level": "key_account", "format": "csv"},
        headers=headers,
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="pareto_20251124-20261123.csv"' in resp.headers["Content-Disposition"]
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == list("ABCDEFGHIJ")
    assert rows[0]["name"] == "门店A" and rows[0]["key_by_sales"] == "TRUE"
    assert rows[1]["segment"] == "sales_only" and rows[1]["sales_fen"] == "3000000"


async def test_bad_report_input_is_refused_with_the_field_named(client: Client) -> None:
    headers = (await staff_headers())["admin"]
    url = "/api/v1/reports/pareto"
    error = await error_of(await client.get(url, params={"level": "mall"}, headers=headers), 422)
    assert error["fields"] == ["level"] and "dealer" in error["message"]
    period = {"from": "2026-06-01", "to": "2026-05-31"}
    error = await error_of(await client.get(url, params=period, headers=headers), 422)
    assert error["fields"] == ["to"]
    assert "ends (2026-05-31) before it starts (2026-06-01)" in error["message"]
    error = await error_of(await client.get(url, params={"from": "June"}, headers=headers), 422)
    assert error["fields"] == ["from"]
    error = await error_of(await client.get(url, params={"format": "xls"}, headers=headers), 422)
    assert error["fields"] == ["format"]


async def test_clerks_may_not_read_reports(client: Client) -> None:
    headers = (await staff_headers())["clerk"]
    resp = await client.get("/api/v1/reports/pareto", headers=headers)
    await error_of(resp, 403)


async def test_stored_value_reports_in_json_and_csv(client: Client) -> None:
    ids = await build_consumers()
    await Member.filter(id=ids["M2"]).update(name="张三")
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    headers = (await staff_headers())["marketer"]
    resp = await client.get("/api/v1/reports/rfm", params={"limit": "2"}, headers=headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["as_of"] == "2026-11-23" and body["members"] == 6
    assert [r["member_id"] for r in body["rows"]] == [ids["M1"], ids["M4"]]
    resp = await client.get(
        "/api/v1/reports/quadrants",
        params={"quadrant": "develop", "format": "csv"},
        headers=headers,
    )
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert [(r["name"], r["quadrant"], r["potential"]) for r in rows] == [
        ("张三", "develop", "rising"),
        ("M6", "develop", "rising"),
    ]
    resp = await client.get("/api/v1/reports/classes", params={"change": "new"}, headers=headers)
    body = await resp.json()
    assert len(body["rows"]) == 6 and {c["value_class"] for c in body["classes"]} == {"A", "B", "C"}
    resp = await client.get(
        "/api/v1/reports/quadrants", params={"quadrant": "stars"}, headers=headers
    )
    assert (await error_of(resp, 422))["fields"] == ["quadrant"]


async def test_churn_csv_carries_the_reasons_in_chinese(client: Client) -> None:
    await build_drifters()
    await scan_churn(NOW.date(), NOW, PROGRAMME)
    headers = (await staff_headers())["admin"]
    resp = await client.get(
        "/api/v1/reports/churn", params={"format": "csv", "reason": "silent"}, headers=headers
    )
    assert resp.status == 200
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["C5", "C1"]
    assert rows[1]["reason_zh"] == "已84天未购买，超过其平时购买间隔（约30天）的2倍"
    assert rows[1]["silent"] == "TRUE" and rows[1]["spend_fell"] == "FALSE"


async def test_every_report_answers_json_and_excel_csv(client: Client) -> None:
    await build_domain_example()
    await build_drifters()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    await scan_churn(NOW.date(), NOW, PROGRAMME)
    headers = (await staff_headers())["marketer"]
    for name in ("pareto", "rfm", "classes", "quadrants", "churn", "exits", "channels", "tiers"):
        url = f"/api/v1/reports/{name}"
        resp = await client.get(url, params={"level": "small_shop"}, headers=headers)
        body = await resp.json()
        assert resp.status == 200, (name, body)
        assert body["period"]["level"] == "small_shop", name
        resp = await client.get(url, params={"format": "csv"}, headers=headers)
        assert resp.status == 200 and resp.content_type == "text/csv", name
        assert (await resp.read()).startswith(b"\xef\xbb\xbf"), name
        bad = await client.get(
            url, params={"from": "2026-02-01", "to": "2026-01-31"}, headers=headers
        )
        assert (await error_of(bad, 422))["fields"] == ["to"], name
    tiers = await (await client.get("/api/v1/reports/tiers", headers=headers)).json()
    assert [r["tier"] for r in tiers["rows"]][:1] == ["taste"]


async def test_a_period_still_being_ranked_answers_202_then_the_report(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large club's first report of a period: 202 with Retry-After while its customers are
    ranked in the background, then the report, read from the ranking made once."""
    await build_domain_example()
    slow = SlowRanking()
    monkeypatch.setattr(ranker_module, "ranking_for", slow)
    client.app[DEPS].ranker.wait = 0.05
    headers = (await staff_headers())["marketer"]
    asked = {"from": "2026-03-01", "to": "2026-10-31", "level": "key_account"}
    for _ in range(2):
        resp = await client.get("/api/v1/reports/pareto", params=asked, headers=headers)
        body = await resp.json()
        assert resp.status == 202, body
        assert resp.headers["Retry-After"] == "5"
        assert body["status"] == "ranking" and body["retry_after"] == 5
        assert body["period"]["start"] == "2026-03-01" and body["period"]["level"] == "key_account"
        assert "ask again in 5 s" in body["message"]
    assert slow.started == 1
    slow.gate.set()
    ranker = client.app[DEPS].ranker
    for _ in range(1000):  # until the ranking is kept (a fixed 0.05 s failed at load 8)
        if not ranker.in_flight:
            break
        await asyncio.sleep(0.01)
    ranker.wait = 30.0  # reading the kept ranking, given the time a loaded machine needs
    resp = await client.get("/api/v1/reports/pareto", params=asked, headers=headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["as_of"] == "2026-11-23"
    assert {c["id"] for c in body["customers"]} >= {"A", "B"}
    assert await Ranking.filter(snapshot=False).count() == 1
