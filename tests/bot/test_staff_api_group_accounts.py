"""Group-purchase accounts over the staff API and in chat: one customer, key by definition.

华润集团 has two contacts, G1 and G2, who book 20,000 and 15,000 yuan to it (35,000: gold on
the demo ladder); G1 also buys 500 yuan for himself. X (300,000) and Y (100,000) make the first
80% of consumer sales (348,400 of 435,500), so the account is not key by its share, and is key
all the same, by definition.
"""

from __future__ import annotations

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.value import MemberValue
from club.value.refresh import refresh_values
from tests.bot.test_staff_api_support import (
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)
from tests.club.value.fixtures import NOW, PROGRAMME, YUAN
from tests.handlers.chat import Chat

URL = "/api/v1/accounts"


async def buy(
    client: Client,
    headers: dict[str, str],
    member: Member,
    order: str,
    yuan: int,
    cost: int,
    account: int | None = None,
) -> dict[str, object]:
    body: dict[str, object] = {
        "member_id": member.id,
        "order_id": order,
        "amount_fen": yuan * YUAN,
        "items": [{"sku": "X", "qty": 1, "amount_fen": yuan * YUAN, "cost_fen": cost * YUAN}],
    }
    if account is not None:
        body["account_id"] = account
    resp = await client.post("/api/v1/purchases", json=body, headers=headers)
    return {"status": resp.status, **(await resp.json())}


async def test_an_account_is_one_key_customer_and_its_contacts_see_its_tier(
    client: Client, clock: FixedClock, store: Redis
) -> None:
    staff = await staff_headers()
    marketer, clerk = staff["marketer"], staff["clerk"]
    g1 = await joined_member("oG1", name="王经理")
    g2 = await joined_member("oG2", name="李助理")
    x = await joined_member("oX", name="X")
    y = await joined_member("oY", name="Y")
    resp = await client.post(URL, json={"name": "华润集团"}, headers=marketer)
    account = await resp.json()
    assert resp.status == 201 and account["created"] and account["tier"] == "taste"
    again = await (await client.post(URL, json={"name": "华润集团"}, headers=marketer)).json()
    assert again["id"] == account["id"] and not again["created"]
    contacts = f"{URL}/{account['id']}/contacts"
    for member in (g1, g2):
        resp = await client.post(contacts, json={"member_id": member.id}, headers=marketer)
        assert resp.status == 200
    assert await error_of(
        await client.post(contacts, json={"member_id": g1.id}, headers=clerk), 403
    )
    # Booked by a contact; refused for anyone else, and for an account that does not exist.
    assert (await buy(client, clerk, g1, "G-1", 20_000, 10_000, account["id"]))["status"] == 200
    assert (await buy(client, clerk, g2, "G-2", 15_000, 9_000, account["id"]))["status"] == 200
    refused = await buy(client, clerk, x, "G-3", 100, 50, account["id"])
    assert refused["status"] == 422 and "not a contact" in refused["error"]["message"]
    assert (await buy(client, clerk, x, "G-4", 100, 50, 999_999))["status"] == 404
    assert (await buy(client, clerk, g1, "P-1", 500, 200))["status"] == 200
    assert (await buy(client, clerk, x, "P-2", 300_000, 100_000))["status"] == 200
    assert (await buy(client, clerk, y, "P-3", 100_000, 50_000))["status"] == 200

    view = await (await client.get(f"{URL}/{account['id']}", headers=clerk)).json()
    assert (view["tier"], view["tier_name"], view["spend_fen"]) == ("gold", "金卡", 35_000 * YUAN)
    assert [c["name"] for c in view["contacts"]] == ["王经理", "李助理"]
    # The account's orders are not G1's: his own tier and value count his 500 yuan only.
    assert (await Member.get(id=g1.id)).tier in (None, "taste")
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    assert (await MemberValue.get(member_id=g1.id)).monetary_fen == 500 * YUAN
    assert not await MemberValue.filter(member_id=g2.id).exists()

    pareto = await client.get(
        "/api/v1/reports/pareto", params={"level": "consumer", "segment": "key"}, headers=marketer
    )
    body = await pareto.json()
    rows = {(c["kind"], c["name"]): c["segment"] for c in body["customers"]}
    assert rows == {
        ("member", "X"): "both",
        ("member", "Y"): "both",
        ("account", "华润集团"): "account",
    }
    assert body["levels"][0]["accounts"] == 1
    assert [r.action for r in await audit_rows() if r.action.startswith("account.")] == [
        "account.open",
        "account.open",
        "account.add_contact",
        "account.add_contact",
        "account.add_contact",
        "account.read",
    ]

    chat = Chat(client, clock, store, "oG1")
    reply = await chat.say("等级")
    assert "您是团购客户「华润集团」的联系人，账户等级：金卡" in reply


async def test_a_member_is_a_contact_of_one_account_at_most(client: Client) -> None:
    marketer = (await staff_headers())["marketer"]
    member = await joined_member("oG9")
    first = await (await client.post(URL, json={"name": "甲公司"}, headers=marketer)).json()
    second = await (await client.post(URL, json={"name": "乙公司"}, headers=marketer)).json()
    ok = await client.post(
        f"{URL}/{first['id']}/contacts", json={"member_id": member.id}, headers=marketer
    )
    assert ok.status == 200
    again = await client.post(
        f"{URL}/{first['id']}/contacts", json={"member_id": member.id}, headers=marketer
    )
    assert again.status == 200 and len((await again.json())["contacts"]) == 1
    taken = await client.post(
        f"{URL}/{second['id']}/contacts", json={"member_id": member.id}, headers=marketer
    )
    error = await error_of(taken, 409)
    assert error["code"] == "contact_taken" and f"group account {first['id']}" in error["message"]
    missing = await client.post(
        f"{URL}/{second['id']}/contacts", json={"member_id": 424242}, headers=marketer
    )
    await error_of(missing, 404)
