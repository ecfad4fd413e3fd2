"""Purchases and returns through the staff API: idempotent, proportional, refused cleanly."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from club.db.models.ledger import LedgerEntry, Purchase, PurchaseItem, PurchaseReturn, Store
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from tests.bot.test_staff_api_support import (
    NOW,
    PHONE,
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)


async def _nothing_recorded(member_id: int) -> None:
    assert await Purchase.all().count() == 0
    assert await LedgerEntry.all().count() == 0
    member = await Member.get(id=member_id)
    assert (member.points_balance, member.tier) == (0, "taste")


async def test_purchase_earns_points_and_a_repeat_awards_nothing(client: Client) -> None:
    member = await joined_member(tier="taste")
    await Store.create(id="sh-01", name="上海一店", channel_level="key_account")
    headers = await staff_headers()
    body = {
        "openid": "o-alice",
        "order_id": "A-1001",
        "amount_fen": 128_850,
        "store": "sh-01",
        "items": [
            {"sku": "MT-500", "qty": 1, "amount_fen": 100_000, "cost_fen": 60_000},
            {"sku": "GLASS", "qty": 2, "amount_fen": 28_850},
        ],
    }
    resp = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
    assert resp.status == 200
    first = await resp.json()
    assert first == {
        "member_id": member.id,
        "order_id": "A-1001",
        "points_earned": 1288,
        "balance": 1288,
        "tier": "taste",
        "upgraded_from": None,
    }
    again = await client.post("/api/v1/purchases", json=body, headers=headers["admin"])
    assert again.status == 200 and await again.json() == first
    assert await Purchase.all().count() == 1
    assert await PurchaseItem.all().count() == 2
    assert await LedgerEntry.all().count() == 1
    assert (await Member.get(id=member.id)).points_balance == 1288
    rows = await audit_rows("purchase.record")
    assert [(r.staff_name, r.target, r.status) for r in rows] == [
        ("clerk-1", "order:A-1001", 200),
        ("admin-1", "order:A-1001", 200),
    ]
    assert rows[0].summary["items"] == {"count": 2}
    assert rows[0].summary["replayed"] is False and rows[1].summary["replayed"] is True
    assert all(PHONE not in str(r.summary) for r in rows)


async def test_the_same_order_sent_at_once_awards_once(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    body = {"member_id": member.id, "order_id": "B-7", "amount_fen": 50_000}
    responses = await asyncio.gather(
        *(client.post("/api/v1/purchases", json=body, headers=headers["clerk"]) for _ in range(20))
    )
    answers = [await r.json() for r in responses]
    assert {r.status for r in responses} == {200}
    assert all(a == answers[0] for a in answers)
    assert answers[0]["points_earned"] == 500
    assert (await Member.get(id=member.id)).points_balance == 500
    assert await LedgerEntry.all().count() == 1


async def test_same_order_id_with_other_data_is_refused(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    first = {"member_id": member.id, "order_id": "C-1", "amount_fen": 10_000}
    assert (
        await client.post("/api/v1/purchases", json=first, headers=headers["clerk"])
    ).status == 200
    other = dict(first, amount_fen=20_000)
    resp = await client.post("/api/v1/purchases", json=other, headers=headers["clerk"])
    assert (await error_of(resp, 409))["code"] == "order_conflict"
    assert (await Member.get(id=member.id)).points_balance == 100


async def test_crossing_a_threshold_upgrades_and_queues_one_congratulation(
    client: Client,
) -> None:
    member = await joined_member(tier="taste", last_interaction_at=NOW - timedelta(hours=1))
    headers = await staff_headers()
    body = {"member_id": member.id, "order_id": "D-1", "amount_fen": 300_000}
    resp = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
    answer = await resp.json()
    assert answer["tier"] == "silver" and answer["upgraded_from"] == "taste"
    again = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
    assert await again.json() == answer
    [message] = await OutboxMessage.filter(member_id=member.id)
    assert message.kind == "tier_change"
    assert "银卡" in str(message.payload)


async def test_bad_purchases_name_the_field_and_record_nothing(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    base = {"member_id": member.id, "order_id": "E-1", "amount_fen": 10_000}
    item = {"sku": "X", "qty": 1, "amount_fen": 10_000}
    cases: list[tuple[dict[str, object], list[str] | None]] = [
        (dict(base, amount_fen=100.5), ["amount_fen"]),
        (dict(base, amount_fen=100.0), ["amount_fen"]),
        (dict(base, amount_fen="10000"), ["amount_fen"]),
        (dict(base, amount_fen=-5), ["amount_fen"]),
        (dict(base, amount_fen=0), ["amount_fen"]),
        (dict(base, amount_fen=True), ["amount_fen"]),
        ({"member_id": member.id, "amount_fen": 10_000}, ["order_id"]),
        (dict(base, order_id=""), ["order_id"]),
        (dict(base, order_id="has space"), ["order_id"]),
        (dict(base, openid="o-alice"), None),
        ({"order_id": "E-1", "amount_fen": 10_000}, None),
        (dict(base, items=[dict(item, qty=0)]), ["items.0.qty"]),
        (dict(base, items=[dict(item, amount_fen=-1)]), ["items.0.amount_fen"]),
        (dict(base, items=[dict(item, cost_fen=1.5)]), ["items.0.cost_fen"]),
        (dict(base, items=[dict(item, amount_fen=9_000)]), ["items"]),
        (dict(base, member_id=member.id + 1000), None),
        (dict(base, points=5), ["points"]),
    ]
    for body, fields in cases:
        resp = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
        status = 404 if body.get("member_id") == member.id + 1000 else 422
        error = await error_of(resp, status)
        if fields is not None:
            assert error["fields"] == fields, body
        assert error["message"]
    unknown_store = await client.post(
        "/api/v1/purchases", json=dict(base, store="nowhere"), headers=headers["clerk"]
    )
    assert (await error_of(unknown_store, 422))["fields"] == ["store"]
    nobody = await client.post(
        "/api/v1/purchases",
        json={"openid": "o-nobody", "order_id": "E-2", "amount_fen": 1},
        headers=headers["clerk"],
    )
    await error_of(nobody, 404)
    await _nothing_recorded(member.id)


async def _buy(
    client: Client, headers: dict[str, str], member_id: int, order: str, fen: int
) -> None:
    body = {"member_id": member_id, "order_id": order, "amount_fen": fen}
    resp = await client.post("/api/v1/purchases", json=body, headers=headers)
    assert resp.status == 200, await resp.text()


async def test_returns_reverse_in_proportion_and_repeat_harmlessly(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    await _buy(client, headers["clerk"], member.id, "F-1", 100_000)  # 1000 points
    body = {"order_id": "F-1", "amount_fen": 25_000}
    resp = await client.post("/api/v1/returns", json=body, headers=headers["clerk"])
    assert resp.status == 200
    first = await resp.json()
    assert first == {
        "member_id": member.id,
        "order_id": "F-1",
        "ref": first["ref"],
        "amount_fen": 25_000,
        "returned_fen_total": 25_000,
        "points_reversed": 250,
        "balance": 750,
        "debt": 0,
    }
    again = await client.post("/api/v1/returns", json=body, headers=headers["clerk"])
    assert await again.json() == first
    second = await client.post(
        "/api/v1/returns",
        json={"order_id": "F-1", "amount_fen": 25_000, "ref": "R-2"},
        headers=headers["clerk"],
    )
    assert (await second.json())["balance"] == 500
    assert await PurchaseReturn.all().count() == 2
    [row, *_] = await audit_rows("return.record")
    assert (row.staff_name, row.target, row.summary["points_reversed"]) == (
        "clerk-1",
        "order:F-1",
        250,
    )


async def test_a_return_of_spent_points_leaves_a_debt(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    await _buy(client, headers["clerk"], member.id, "G-1", 100_000)
    spend = await client.post(
        f"/api/v1/members/{member.id}/adjustments",
        json={"points": -800, "reason": "redeemed at the counter"},
        headers=headers["admin"],
    )
    assert spend.status == 201
    resp = await client.post(
        "/api/v1/returns", json={"order_id": "G-1", "amount_fen": 100_000}, headers=headers["clerk"]
    )
    answer = await resp.json()
    assert (answer["points_reversed"], answer["balance"], answer["debt"]) == (1000, 0, 800)
    card = await (await client.get(f"/api/v1/members/{member.id}", headers=headers["clerk"])).json()
    assert (card["balance"], card["debt"]) == (0, 800)


async def test_refused_returns_change_nothing(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    await _buy(client, headers["clerk"], member.id, "H-1", 10_000)
    too_much = await client.post(
        "/api/v1/returns", json={"order_id": "H-1", "amount_fen": 10_001}, headers=headers["clerk"]
    )
    assert (await error_of(too_much, 409))["code"] == "return_exceeds_purchase"
    unknown = await client.post(
        "/api/v1/returns", json={"order_id": "H-404", "amount_fen": 100}, headers=headers["clerk"]
    )
    await error_of(unknown, 404)
    for body, fields in (
        ({"order_id": "H-1", "amount_fen": 10.5}, ["amount_fen"]),
        ({"order_id": "H-1", "amount_fen": -100}, ["amount_fen"]),
        ({"order_id": "H-1"}, ["amount_fen"]),
        ({"amount_fen": 100}, ["order_id"]),
    ):
        resp = await client.post("/api/v1/returns", json=body, headers=headers["clerk"])
        assert (await error_of(resp, 422))["fields"] == fields
    assert await PurchaseReturn.all().count() == 0
    assert (await Purchase.get(order_id="H-1")).returned_fen == 0
    assert (await Member.get(id=member.id)).points_balance == 100
    assert await LedgerEntry.all().count() == 1


async def test_member_view_shows_spend_and_points_to_the_next_tier(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    await _buy(client, headers["clerk"], member.id, "J-1", 100_000)
    card = await (await client.get(f"/api/v1/members/{member.id}", headers=headers["clerk"])).json()
    assert card["tier"] == "taste" and card["next_tier"] == "silver"
    assert card["qualifying_spend_fen"] == 100_000
    assert card["spend_to_next_tier_fen"] == 200_000
    assert card["points_to_next_tier"] == 2_000
    assert card["balance"] == 1_000 and card["expiring_points"] == 1_000
    assert card["expiring_on"] is not None and card["expiring_on"] > NOW.date().isoformat()


async def test_a_follower_who_has_not_joined_earns_nothing(client: Client) -> None:
    follower = await Member.create(openid="o-follower")
    headers = await staff_headers()
    resp = await client.post(
        "/api/v1/purchases",
        json={"openid": "o-follower", "order_id": "K-1", "amount_fen": 10_000},
        headers=headers["clerk"],
    )
    assert (await error_of(resp, 409))["code"] == "not_joined"
    adjust = await client.post(
        f"/api/v1/members/{follower.id}/adjustments",
        json={"points": 10, "reason": "goodwill"},
        headers=headers["admin"],
    )
    assert (await error_of(adjust, 409))["code"] == "not_joined"
    assert await Purchase.all().count() == 0
    assert await LedgerEntry.all().count() == 0
    assert (await Member.get(id=follower.id)).points_balance == 0


async def test_an_oversized_body_is_a_json_413_and_records_nothing(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    items = [{"sku": f"S{i}", "qty": 1, "amount_fen": 1} for i in range(2_000)]
    body = {"member_id": member.id, "order_id": "L-1", "amount_fen": 2_000, "items": items}
    resp = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
    assert (await error_of(resp, 413))["code"] == "too_large"
    [row] = await audit_rows("purchase.record")
    assert row.status == 413
    await _nothing_recorded(member.id)
