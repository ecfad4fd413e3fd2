"""Sane amounts: the programme's largest purchase and largest single credit, and JSON bodies
with a key given twice. Above a limit the staff API answers 422 naming it; nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.catalog import BottleCode
from club.db.models.ledger import LedgerEntry, Purchase
from club.db.models.members import Member
from club.programme.demo import DEMO_TOML
from tests.bot.test_staff_api_support import (
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)
from tests.conftest import make_settings
from tests.fixtures.wechat.app import running_app

LIMIT_FEN = 100_000_000  # the demo programme's limits.max_purchase_fen (1,000,000 yuan)
LIMIT_POINTS = 100_000  # and limits.max_credit_points


async def nothing_written(member_id: int) -> None:
    assert await Purchase.all().count() == 0
    assert await LedgerEntry.all().count() == 0
    assert (await Member.get(id=member_id)).points_balance == 0


async def test_a_purchase_above_the_largest_is_refused_naming_the_limit(client: Client) -> None:
    member = await joined_member()
    clerk = (await staff_headers())["clerk"]
    for amount in (10**11, LIMIT_FEN + 1):
        body = {"member_id": member.id, "order_id": f"BIG-{amount}", "amount_fen": amount}
        resp = await client.post("/api/v1/purchases", json=body, headers=clerk)
        error = await error_of(resp, 422)
        assert error["code"] == "above_limit"
        assert error["fields"] == ["amount_fen"]
        assert "limits.max_purchase_fen = 100,000,000 fen" in error["message"]
        await nothing_written(member.id)
    assert [row.status for row in await audit_rows("purchase.record")] == [422, 422]

    # The largest purchase itself is recorded.
    body = {"member_id": member.id, "order_id": "BIG-OK", "amount_fen": LIMIT_FEN}
    resp = await client.post("/api/v1/purchases", json=body, headers=clerk)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["points_earned"] == 1_000_000


async def test_a_credit_above_the_largest_is_refused_a_debit_is_not_capped(client: Client) -> None:
    member = await joined_member()
    admin = (await staff_headers())["admin"]
    url = f"/api/v1/members/{member.id}/adjustments"
    for points in (10**9, LIMIT_POINTS + 1):
        resp = await client.post(url, json={"points": points, "reason": "goodwill"}, headers=admin)
        error = await error_of(resp, 422)
        assert (error["code"], error["fields"]) == ("above_limit", ["points"])
        assert "limits.max_credit_points = 100,000 points" in error["message"]
        await nothing_written(member.id)
    resp = await client.post(
        url, json={"points": LIMIT_POINTS, "reason": "goodwill"}, headers=admin
    )
    assert resp.status == 201
    # Taking points away is bounded by the balance, not by the credit limit.
    resp = await client.post(
        url, json={"points": -LIMIT_POINTS, "reason": "correction"}, headers=admin
    )
    assert resp.status == 201
    assert (await Member.get(id=member.id)).points_balance == 0


async def test_a_programme_sets_its_own_limits(
    tmp_path: Path, clock: FixedClock, store: Redis
) -> None:
    """A brand with smaller limits: its own CLUB_CONFIG, and the bottle codes' points are a
    credit given by hand too."""
    config = tmp_path / "club.toml"
    config.write_text(
        DEMO_TOML.replace("max_credit_points = 100000", "max_credit_points = 50").replace(
            "max_purchase_fen = 100000000", "max_purchase_fen = 2000000"
        ),
        encoding="utf-8",
    )
    async with running_app(make_settings(club_config=config), clock, store) as client:
        member = await joined_member()
        headers = await staff_headers()
        body = {"count": 10, "points": 51, "batch": "B-RICH"}
        resp = await client.post("/api/v1/bottle-codes", json=body, headers=headers["marketer"])
        error = await error_of(resp, 422)
        assert (error["code"], error["fields"]) == ("above_limit", ["points"])
        assert "limits.max_credit_points = 50 points" in error["message"]
        assert await BottleCode.all().count() == 0
        body = {"member_id": member.id, "order_id": "O-1", "amount_fen": 2_000_001}
        resp = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
        assert "limits.max_purchase_fen = 2,000,000 fen" in (await error_of(resp, 422))["message"]
        body = {"count": 10, "points": 50, "batch": "B-OK"}
        resp = await client.post("/api/v1/bottle-codes", json=body, headers=headers["marketer"])
        assert resp.status == 201
        await nothing_written(member.id)


async def test_a_key_given_twice_is_refused_and_nothing_is_recorded(client: Client) -> None:
    member = await joined_member()
    headers = await staff_headers()
    clerk = {**headers["clerk"], "Content-Type": "application/json"}
    # The reviewer sees 100 fen; a JSON parser keeps the last value, a million yuan.
    raw = f'{{"member_id": {member.id}, "order_id": "DUP-1", "amount_fen": 100, '
    raw += '"amount_fen": 100000000}'
    resp = await client.post("/api/v1/purchases", data=raw, headers=clerk)
    error = await error_of(resp, 422)
    assert (error["code"], error["fields"]) == ("duplicate_key", ["amount_fen"])
    await nothing_written(member.id)

    # Inside a nested object too.
    body = {
        "member_id": member.id,
        "order_id": "DUP-2",
        "amount_fen": 200,
        "items": [{"sku": "A", "qty": 1, "amount_fen": 200}],
    }
    raw = json.dumps(body).replace('"qty": 1', '"qty": 1, "qty": 50')
    resp = await client.post("/api/v1/purchases", data=raw, headers=clerk)
    assert (await error_of(resp, 422))["fields"] == ["qty"]
    admin = {**headers["admin"], "Content-Type": "application/json"}
    raw = '{"points": 5, "reason": "a", "reason": "goodwill"}'
    resp = await client.post(f"/api/v1/members/{member.id}/adjustments", data=raw, headers=admin)
    assert (await error_of(resp, 422))["code"] == "duplicate_key"
    await nothing_written(member.id)

    # The same bodies with each key once are fine; and a body that is not JSON stays a 400.
    resp = await client.post("/api/v1/purchases", data=json.dumps(body), headers=clerk)
    assert resp.status == 200
    resp = await client.post("/api/v1/purchases", data='{"amount_fen": 1', headers=clerk)
    assert (await error_of(resp, 400))["code"] == "malformed_json"
