"""Programme pages: rewards, bottle codes (generate, CSV for the printer), the programme file."""

from __future__ import annotations

import csv
import io

from club.codes.codegen import is_valid, normalise
from club.db.models.catalog import BottleCode, Reward
from club.db.models.staff import AuditLog
from tests.console.support import Client, page_token, sign_in, staff_with_password


async def _as(client: Client, role: str) -> str:
    await staff_with_password(f"{role}-1", role)
    await sign_in(client, f"{role}-1")
    return await page_token(client, "/console/rewards")


async def test_a_marketer_adds_a_reward_and_everyone_sees_its_stock(
    console_client: Client,
) -> None:
    token = await _as(console_client, "marketer")
    form = {"csrf_token": token, "name": "品鉴杯", "points_cost": "800", "stock": "12",
            "min_tier": "silver", "ref": "reward-ab"}  # fmt: skip
    resp = await console_client.post("/console/rewards", data=form)
    assert resp.status == 200
    html = await resp.text()
    assert "礼品「品鉴杯」已新增" in html and "银卡" in html
    # The same form again (a double click) adds nothing.
    await console_client.post("/console/rewards", data=form)
    [reward] = await Reward.all()
    assert (reward.points_cost, reward.stock, reward.min_tier) == (800, 12, "silver")
    audited = await AuditLog.filter(action="reward.create", status=201)
    assert len(audited) == 2 and all(r.summary["via"] == "console" for r in audited)
    bad = await console_client.post(
        "/console/rewards", data={"csrf_token": token, "name": "", "points_cost": "0"}
    )
    assert bad.status == 422
    assert await Reward.all().count() == 1


async def test_codes_are_generated_and_downloaded_for_the_printer(console_client: Client) -> None:
    token = await _as(console_client, "marketer")
    resp = await console_client.post(
        "/console/codes",
        data={"csrf_token": token, "batch": "2026-Q4-A", "count": "25", "points": "30"},
    )
    assert resp.status == 200
    assert "已生成 25 个瓶盖码" in await resp.text()
    batch_id = (await BottleCode.first()).batch_id  # type: ignore[union-attr]
    download = await console_client.get(f"/console/codes/{batch_id}.csv")
    assert download.status == 200
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "bottle-codes-2026-Q4-A.csv" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await download.text())))
    assert rows[0] == ["batch", "code", "points"]
    assert len(rows) == 26
    stored = set(await BottleCode.all().values_list("code", flat=True))
    assert {normalise(r[1]) for r in rows[1:]} == stored
    assert all(is_valid(normalise(r[1])) and r[2] == "30" for r in rows[1:])
    [row] = await AuditLog.filter(action="codes.download")
    assert (row.target, row.summary["count"]) == ("batch:2026-Q4-A", 25)
    assert (await console_client.get("/console/codes/999.csv")).status == 404


async def test_the_programme_page_shows_the_files_tiers_and_texts(console_client: Client) -> None:
    await _as(console_client, "marketer")
    resp = await console_client.get("/console/programme")
    assert resp.status == 200
    html = await resp.text()
    for words in ("醇香会", "黑金", "¥50,000.00", "中秋", "内置演示计划"):
        assert words in html, words


async def test_a_clerk_reads_rewards_but_not_codes_or_the_programme(console_client: Client) -> None:
    await _as(console_client, "clerk")
    resp = await console_client.get("/console/rewards")
    assert resp.status == 200
    assert 'action="/console/rewards"' not in await resp.text()
    for path in ("/console/codes", "/console/programme", "/console/codes/1.csv"):
        assert (await console_client.get(path)).status == 403, path
