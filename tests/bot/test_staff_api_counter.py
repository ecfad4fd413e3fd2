"""The counter: find a member by phone or number; a non-member's purchase waits for their phone
to join in chat and is credited then, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.counter import PendingPurchase, PendingStatus
from club.db.models.ledger import LedgerEntry, Purchase
from club.db.models.members import Member
from club.sales.counter import lapse_counter_purchases
from handlers.texts import t
from tests.bot.test_staff_api_support import (
    MASKED,
    PHONE,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)
from tests.handlers.chat import Chat

Client = TestClient[web.Request, web.Application]
STORE = {"id": "SH-01", "name": "上海旗舰店", "channel_level": "key_account"}


@pytest.fixture
def chat(client: Client, clock: FixedClock, store: Redis) -> Chat:
    return Chat(client, clock, store, openid="oNewcomer01")


async def test_a_clerk_finds_a_member_by_phone_or_number(client: Client) -> None:
    headers = await staff_headers()
    member = await joined_member()
    for params in (
        {"phone": PHONE},
        {"phone": "+86 138-1234-5678"},
        {"number": f"{member.id:08d}"},
        {"number": str(member.id)},
    ):
        resp = await client.get("/api/v1/members", params=params, headers=headers["clerk"])
        found = await resp.json()
        assert resp.status == 200, found
        assert (found["id"], found["phone"], found["number"]) == (
            member.id,
            MASKED,
            f"{member.id:08d}",
        )
    admin = await client.get("/api/v1/members", params={"phone": PHONE}, headers=headers["admin"])
    assert (await admin.json())["phone"] == PHONE
    nobody = await client.get(
        "/api/v1/members", params={"phone": "13900000000"}, headers=headers["clerk"]
    )
    assert "phone" in (await error_of(nobody, 404))["message"]
    bad = await client.get("/api/v1/members", params={"phone": "12345"}, headers=headers["clerk"])
    assert (await error_of(bad, 422))["fields"] == ["phone"]
    both = await client.get(
        "/api/v1/members", params={"phone": PHONE, "number": "1"}, headers=headers["clerk"]
    )
    await error_of(both, 422)
    # Two accounts gave the same number: the clerk is told which, never shown a random one.
    twin = await joined_member("o-twin")
    shared = await client.get("/api/v1/members", params={"phone": PHONE}, headers=headers["clerk"])
    error = await error_of(shared, 409)
    assert f"{member.id:08d}" in error["message"] and f"{twin.id:08d}" in error["message"]
    # The audit log says how the member was found, never the phone number.
    rows = await audit_rows("member.read")
    assert rows[0].summary["by"] == "phone" and rows[0].target == f"member:{member.id}"
    assert not any(PHONE in str(r.summary) for r in rows)


async def test_a_counter_purchase_is_credited_once_when_the_phone_joins(
    client: Client, chat: Chat
) -> None:
    headers = await staff_headers()
    await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    order = {"phone": "138 1234 5678", "order_id": "T-1", "amount_fen": 58_800, "store": "SH-01"}
    resp = await client.post("/api/v1/counter-purchases", json=order, headers=headers["clerk"])
    first = await resp.json()
    assert resp.status == 201, first
    assert (first["status"], first["phone"], first["member_id"]) == ("pending", MASKED, None)
    again = await client.post("/api/v1/counter-purchases", json=order, headers=headers["clerk"])
    assert await again.json() == first
    second = {**order, "order_id": "T-2", "amount_fen": 12_000}
    await client.post("/api/v1/counter-purchases", json=second, headers=headers["clerk"])
    assert not await Purchase.all().exists()

    # The consumer follows through the store's code: the welcome no longer promises a clerk.
    welcome = await chat.follow("store_SH-01")
    assert t("welcome_store", "zh", days=30) in welcome and "店员会为您办理" not in welcome
    chat.later(days=3)
    done = await chat.join(phone=PHONE)
    assert t("enrol_counter_credited", "zh", count=2, points=588 + 120) in done
    member = await Member.get(openid=chat.openid)
    assert member.points_balance == 100 + 588 + 120
    purchases = await Purchase.filter(member_id=member.id).order_by("order_id")
    assert [(p.order_id, p.store_id, p.points_earned) for p in purchases] == [
        ("T-1", "SH-01", 588),
        ("T-2", "SH-01", 120),
    ]
    reasons = await LedgerEntry.filter(member_id=member.id, kind="earn").values_list(
        "reason", flat=True
    )
    assert sorted(reasons) == ["门店消费 T-1（入会前）", "门店消费 T-2（入会前）"]
    assert {p.status for p in await PendingPurchase.all()} == {PendingStatus.CREDITED}

    # Joining is not repeated, and a second account with the same phone gets nothing again.
    assert t("enrol_counter_credited", "zh", count=2, points=708) not in await chat.say("入会")
    other = chat.as_member("oSecondPhone1")
    reply = await other.join(phone=PHONE)
    assert "补记" not in reply
    assert (await Member.get(openid="oSecondPhone1")).points_balance == 100
    assert await Purchase.all().count() == 2
    listed = await client.get(
        "/api/v1/counter-purchases", params={"phone": PHONE}, headers=headers["clerk"]
    )
    statuses = [
        (p["order_id"], p["status"], p["points_earned"]) for p in (await listed.json())["purchases"]
    ]
    assert sorted(statuses) == [("T-1", "credited", 588), ("T-2", "credited", 120)]
    audited = await audit_rows("counter_purchase.record")
    assert [r.summary["status"] for r in audited] == ["pending", "pending", "pending"]
    assert not any(PHONE in str(r.summary) for r in audited)


async def test_a_counter_purchase_waits_thirty_days_then_lapses(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    headers = await staff_headers()
    order = {"phone": PHONE, "order_id": "OLD-1", "amount_fen": 10_000}
    await client.post("/api/v1/counter-purchases", json=order, headers=headers["clerk"])
    clock.advance(timedelta(days=30, minutes=1))
    assert await lapse_counter_purchases(clock.now()) == 1
    assert await lapse_counter_purchases(clock.now()) == 0
    row = await PendingPurchase.get(order_id="OLD-1")
    assert (row.status, row.phone) == (PendingStatus.LAPSED, "")
    done = await chat.join(phone=PHONE)
    assert "补记" not in done
    assert (await Member.get(openid=chat.openid)).points_balance == 100


async def test_a_members_phone_is_credited_at_once_and_order_ids_stay_unique(
    client: Client,
) -> None:
    headers = await staff_headers()
    member = await joined_member()
    order = {"phone": PHONE, "order_id": "M-1", "amount_fen": 10_000}
    resp = await client.post("/api/v1/counter-purchases", json=order, headers=headers["clerk"])
    body = await resp.json()
    assert (body["status"], body["member_id"], body["points_earned"]) == (
        "credited",
        member.id,
        100,
    )
    assert (await Purchase.get(order_id="M-1")).member_id == member.id
    # A pending order id and an ordinary purchase's order id are one namespace.
    pending = {"phone": "13900001111", "order_id": "P-1", "amount_fen": 500}
    await client.post("/api/v1/counter-purchases", json=pending, headers=headers["clerk"])
    other = {**pending, "amount_fen": 600}
    clash = await client.post("/api/v1/counter-purchases", json=other, headers=headers["clerk"])
    assert (await error_of(clash, 409))["code"] == "order_conflict"
    taken = {"phone": "13900001111", "order_id": "M-1", "amount_fen": 10_000}
    clash = await client.post("/api/v1/counter-purchases", json=taken, headers=headers["clerk"])
    await error_of(clash, 409)
    bad = await client.post(
        "/api/v1/counter-purchases",
        json={**pending, "order_id": "P-2", "phone": "1234"},
        headers=headers["clerk"],
    )
    assert (await error_of(bad, 422))["fields"] == ["phone"]
    unknown = await client.post(
        "/api/v1/counter-purchases",
        json={**pending, "order_id": "P-3", "store": "NOPE"},
        headers=headers["clerk"],
    )
    assert (await error_of(unknown, 422))["code"] == "unknown_store"
    huge = await client.post(
        "/api/v1/counter-purchases",
        json={**pending, "order_id": "P-4", "amount_fen": 100_000_001},
        headers=headers["clerk"],
    )
    assert (await error_of(huge, 422))["code"] == "above_limit"
    assert await PendingPurchase.all().count() == 1
