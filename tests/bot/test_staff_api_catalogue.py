"""Bottle-code batches and the reward catalogue through the staff API."""

from __future__ import annotations

import pytest

from club.codes.codegen import CodeShape, classify
from club.db.models.catalog import BottleCode, CodeBatch, Reward
from club.rewards import redemptions as rewards
from tests.bot.test_staff_api_support import Client, audit_rows, error_of, staff_headers


async def test_bottle_code_batch_returns_new_codes_once(client: Client) -> None:
    headers = await staff_headers()
    body = {"count": 5, "points": 30, "batch": "2026-11-A"}
    resp = await client.post("/api/v1/bottle-codes", json=body, headers=headers["marketer"])
    assert resp.status == 201
    first = await resp.json()
    assert first["batch"] == "2026-11-A" and first["points"] == 30 and first["count"] == 5
    assert len(set(first["codes"])) == 5
    assert all(classify(code)[0] is CodeShape.VALID for code in first["codes"])
    again = await client.post("/api/v1/bottle-codes", json=body, headers=headers["marketer"])
    assert again.status == 201 and await again.json() == first
    assert await BottleCode.all().count() == 5
    rows = await audit_rows("codes.generate")
    assert [r.summary["created"] for r in rows] == [True, False]
    # The audit log names the batch, never the codes themselves.
    assert not any(code in str(r.summary) for r in rows for code in first["codes"])


async def test_bottle_code_batch_refusals_write_nothing(client: Client) -> None:
    headers = await staff_headers()
    await client.post(
        "/api/v1/bottle-codes",
        json={"count": 2, "points": 10, "batch": "B1"},
        headers=headers["admin"],
    )
    conflict = await client.post(
        "/api/v1/bottle-codes",
        json={"count": 3, "points": 10, "batch": "B1"},
        headers=headers["admin"],
    )
    assert (await error_of(conflict, 409))["code"] == "batch_conflict"
    cases = [
        ({"count": 0, "points": 10, "batch": "B2"}, ["count"]),
        ({"count": 10_001, "points": 10, "batch": "B2"}, ["count"]),
        ({"count": 2, "points": -1, "batch": "B2"}, ["points"]),
        ({"count": 2, "points": 2.0, "batch": "B2"}, ["points"]),
        ({"count": 2, "points": 10, "batch": "has space"}, ["batch"]),
        ({"count": 2, "points": 10}, ["batch"]),
    ]
    for body, fields in cases:
        resp = await client.post("/api/v1/bottle-codes", json=body, headers=headers["admin"])
        assert (await error_of(resp, 422))["fields"] == fields, body
    clerk = await client.post(
        "/api/v1/bottle-codes",
        json={"count": 2, "points": 10, "batch": "B3"},
        headers=headers["clerk"],
    )
    await error_of(clerk, 403)
    assert await CodeBatch.all().count() == 1
    assert await BottleCode.all().count() == 2


async def test_rewards_create_and_list(client: Client) -> None:
    headers = await staff_headers()
    body = {
        "name": "品鉴杯",
        "points_cost": 800,
        "stock": 10,
        "min_tier": "silver",
        "per_member_limit": 1,
        "active_from": "2026-11-01T00:00:00+08:00",
    }
    resp = await client.post("/api/v1/rewards", json=body, headers=headers["marketer"])
    assert resp.status == 201
    created = await resp.json()
    assert created["name"] == "品鉴杯" and created["stock"] == 10 and created["enabled"] is True
    listed = await client.get("/api/v1/rewards", headers=headers["clerk"])
    assert listed.status == 200
    assert (await listed.json())["rewards"] == [created]
    [row] = await audit_rows("reward.create")
    assert row.target == f"reward:{created['id']}" and row.summary["points_cost"] == 800


async def test_bad_rewards_are_refused_and_nothing_is_written(client: Client) -> None:
    headers = await staff_headers()
    cases = [
        ({"name": "cup", "points_cost": 0}, ["points_cost"]),
        ({"name": "cup", "points_cost": 10.5}, ["points_cost"]),
        ({"name": "", "points_cost": 10}, ["name"]),
        ({"name": "cup", "points_cost": 10, "stock": -1}, ["stock"]),
        ({"name": "cup", "points_cost": 10, "min_tier": "diamond"}, ["min_tier"]),
        ({"name": "cup", "points_cost": 10, "active_from": "2026-11-01T00:00:00"}, ["active_from"]),
        (
            {
                "name": "cup",
                "points_cost": 10,
                "active_from": "2026-12-01T00:00:00+08:00",
                "active_until": "2026-11-01T00:00:00+08:00",
            },
            None,
        ),
    ]
    for body, fields in cases:
        resp = await client.post("/api/v1/rewards", json=body, headers=headers["admin"])
        error = await error_of(resp, 422)
        if fields is not None:
            assert error["fields"] == fields, body
    clerk = await client.post(
        "/api/v1/rewards", json={"name": "cup", "points_cost": 10}, headers=headers["clerk"]
    )
    await error_of(clerk, 403)
    assert await Reward.all().count() == 0


async def test_an_unexpected_failure_is_a_json_500_and_audited(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(rewards, "create_reward", broken)
    headers = await staff_headers()
    resp = await client.post(
        "/api/v1/rewards", json={"name": "cup", "points_cost": 10}, headers=headers["admin"]
    )
    error = await error_of(resp, 500)
    assert error == {"code": "internal", "message": "internal error"}
    [row] = await audit_rows("reward.create")
    assert (row.status, row.summary["refused"]) == (500, "internal")


async def test_reward_times_must_be_iso_strings_with_an_offset(client: Client) -> None:
    headers = await staff_headers()
    for value in (0, 1_790_000_000, "2026-11-01", "2026-11-01T00:00:00"):
        body = {"name": "cup", "points_cost": 10, "active_until": value}
        resp = await client.post("/api/v1/rewards", json=body, headers=headers["admin"])
        assert (await error_of(resp, 422))["fields"] == ["active_until"], value
    assert await Reward.all().count() == 0


async def test_a_retried_reward_with_its_ref_is_created_once(client: Client) -> None:
    headers = await staff_headers()
    body = {
        "name": "品鉴杯",
        "points_cost": 800,
        "stock": 10,
        "active_from": "2026-12-01T00:00:00+08:00",
        "ref": "till-7:reward-1",
    }
    first = await client.post("/api/v1/rewards", json=body, headers=headers["marketer"])
    assert first.status == 201
    created = await first.json()
    assert created["ref"] == "till-7:reward-1"
    # The same instant written with another offset is the same body.
    retry = {**body, "active_from": "2026-11-30T16:00:00Z"}
    again = await client.post("/api/v1/rewards", json=retry, headers=headers["admin"])
    assert again.status == 201 and await again.json() == created
    assert await Reward.all().count() == 1
    other = {**body, "points_cost": 900}
    conflict = await client.post("/api/v1/rewards", json=other, headers=headers["marketer"])
    assert (await error_of(conflict, 409))["code"] == "ref_conflict"
    # Without a ref every request is a new reward, as before.
    plain = {"name": "品鉴杯", "points_cost": 800}
    for _ in range(2):
        resp = await client.post("/api/v1/rewards", json=plain, headers=headers["marketer"])
        assert resp.status == 201 and (await resp.json())["ref"] is None
    assert await Reward.all().count() == 3
    statuses = [r.status for r in await audit_rows("reward.create")]
    assert statuses == [201, 201, 409, 201, 201]
