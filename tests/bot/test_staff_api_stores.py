"""Stores through the staff API: create, change, close, import from CSV, level history."""

from __future__ import annotations

from datetime import timedelta

from club.clock import FixedClock
from club.db.models.ledger import Purchase, Store
from club.db.models.staff import AuditLog
from club.db.models.stores import StoreLevelChange
from club.rules.channels import ChannelLevel
from club.sales.stores import level_on, levels_on
from tests.bot.test_staff_api_support import (
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)

STORE = {"id": "SH-01", "name": "上海旗舰店", "channel_level": "key_account", "region": "华东"}
CSV = (
    "\ufeffid,name,channel_level,region\r\n"
    "SH-01,上海旗舰店,重点客户,华东\r\n"
    "BJ-02,北京二店,small_shop,\r\n"
    "\r\n"
    "GZ-03,广州经销,dealer,华南\r\n"
)


async def test_admin_creates_lists_and_reads_stores(client: Client) -> None:
    headers = await staff_headers()
    resp = await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    assert resp.status == 201, await resp.text()
    store = await resp.json()
    assert store["id"] == "SH-01" and store["status"] == "open" and not store["has_qr_code"]
    assert [h["from_level"] for h in store["level_history"]] == [None]
    assert store["level_history"][0]["actor_name"] == "admin-1"
    # The same request again is a retry; other values under the id are a conflict.
    again = await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    assert again.status == 201 and (await again.json())["id"] == "SH-01"
    other = await client.post(
        "/api/v1/stores", json={**STORE, "name": "别的店"}, headers=headers["admin"]
    )
    assert (await error_of(other, 409))["code"] == "store_conflict"
    # Clerks read stores (purchases name them) but do not manage them.
    refused = await client.post(
        "/api/v1/stores", json={**STORE, "id": "X1"}, headers=headers["clerk"]
    )
    await error_of(refused, 403)
    listed = await client.get("/api/v1/stores", headers=headers["clerk"])
    assert [s["id"] for s in (await listed.json())["stores"]] == ["SH-01"]
    read = await client.get("/api/v1/stores/SH-01", headers=headers["clerk"])
    assert (await read.json())["name"] == "上海旗舰店"
    missing = await client.get("/api/v1/stores/NOPE", headers=headers["clerk"])
    await error_of(missing, 404)
    bad = await client.post(
        "/api/v1/stores", json={**STORE, "id": "有 空格"}, headers=headers["admin"]
    )
    assert (await error_of(bad, 422))["fields"] == ["id"]
    audited = [r.summary.get("created") for r in await audit_rows("store.create")]
    assert audited == [True, False, None, None, None]
    assert await Store.all().count() == 1


async def test_level_changes_keep_their_history(client: Client, clock: FixedClock) -> None:
    headers = await staff_headers()
    await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    created_at = clock.now()
    clock.advance(timedelta(days=40))
    resp = await client.patch(
        "/api/v1/stores/SH-01",
        json={"channel_level": "dealer", "name": "上海总店", "region": None},
        headers=headers["admin"],
    )
    assert resp.status == 200, await resp.text()
    store = await resp.json()
    assert (store["name"], store["channel_level"], store["region"]) == ("上海总店", "dealer", None)
    assert [(h["from_level"], h["to_level"]) for h in store["level_history"]] == [
        (None, "key_account"),
        ("key_account", "dealer"),
    ]
    # The level on a day before the change is the old one; the purchase reports ask exactly this.
    day_before = (clock.now() - timedelta(days=1)).date().isoformat()
    past = await client.get(
        "/api/v1/stores/SH-01", params={"on": day_before}, headers=headers["clerk"]
    )
    assert (await past.json())["level_on"] == "key_account"
    assert await level_on("SH-01", created_at + timedelta(days=1)) is ChannelLevel.KEY_ACCOUNT
    assert await level_on("SH-01", clock.now()) is ChannelLevel.DEALER
    assert (await levels_on(created_at))["SH-01"] is ChannelLevel.KEY_ACCOUNT
    # Renaming alone adds no level history; an empty change is refused.
    await client.patch("/api/v1/stores/SH-01", json={"name": "上海店"}, headers=headers["admin"])
    assert await StoreLevelChange.filter(store_id="SH-01").count() == 2
    empty = await client.patch("/api/v1/stores/SH-01", json={}, headers=headers["admin"])
    await error_of(empty, 422)
    audited = await audit_rows("store.update")
    assert [(r.target, r.status, r.summary.get("changed")) for r in audited] == [
        ("store:SH-01", 200, "name,channel_level,region"),
        ("store:SH-01", 200, "name"),
        ("store:SH-01", 422, None),
    ]


async def test_a_closed_store_takes_no_purchase_until_reopened(client: Client) -> None:
    headers = await staff_headers()
    member = await joined_member()
    await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    closed = await client.post("/api/v1/stores/SH-01/close", headers=headers["admin"])
    body = await closed.json()
    assert body["status"] == "closed" and body["closed_at"]
    order = {"member_id": member.id, "order_id": "C-1", "amount_fen": 1000, "store": "SH-01"}
    refused = await client.post("/api/v1/purchases", json=order, headers=headers["clerk"])
    error = await error_of(refused, 422)
    assert error["code"] == "store_closed" and error["fields"] == ["store"]
    listed = await client.get(
        "/api/v1/stores", params={"status": "closed"}, headers=headers["clerk"]
    )
    assert [s["id"] for s in (await listed.json())["stores"]] == ["SH-01"]
    reopened = await client.post("/api/v1/stores/SH-01/reopen", headers=headers["admin"])
    assert (await reopened.json())["closed_at"] is None
    ok = await client.post("/api/v1/purchases", json=order, headers=headers["clerk"])
    assert ok.status == 200
    assert (await Purchase.get(order_id="C-1")).store_id == "SH-01"
    assert [r.action for r in await AuditLog.filter(target="store:SH-01").order_by("id")] == [
        "store.create",
        "store.close",
        "store.reopen",
    ]


async def _import(client: Client, text: str, headers: dict[str, str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    resp = await client.post(
        "/api/v1/stores/import",
        data=text.encode("utf-8"),
        headers={**headers, "Content-Type": "text/csv"},
    )
    return resp.status, await resp.json()


async def test_csv_import_creates_and_a_second_import_changes_nothing(client: Client) -> None:
    admin = (await staff_headers())["admin"]
    status, body = await _import(client, CSV, admin)
    assert status == 200, body
    assert body == {
        "created": ["SH-01", "BJ-02", "GZ-03"],
        "updated": [],
        "unchanged": 0,
        "level_changes": 0,
    }
    stores = {s.id: s for s in await Store.all()}
    assert stores["SH-01"].channel_level == ChannelLevel.KEY_ACCOUNT
    assert stores["BJ-02"].region is None
    history = await StoreLevelChange.all().count()
    status, body = await _import(client, CSV, admin)
    assert body == {"created": [], "updated": [], "unchanged": 3, "level_changes": 0}
    assert await StoreLevelChange.all().count() == history
    # A changed line updates that store only, and its level change goes into the history.
    status, body = await _import(
        client, CSV.replace("小", "x").replace("small_shop", "dealer"), admin
    )
    assert body == {"created": [], "updated": ["BJ-02"], "unchanged": 2, "level_changes": 1}
    assert [r.summary["created"] for r in await audit_rows("store.import")] == [3, 0, 0]


async def test_csv_with_a_bad_line_is_refused_naming_it_and_imports_nothing(
    client: Client,
) -> None:
    headers = await staff_headers()
    bad_level = "id,name,channel_level\nSH-01,上海旗舰店,重点客户\nBJ-02,北京二店,big_shop\n"
    status, body = await _import(client, bad_level, headers["admin"])
    assert status == 422, body
    assert body["error"]["fields"] == ["line 3.channel_level"]
    assert body["error"]["message"].startswith("line 3: channel_level: 'big_shop' is not one of")
    duplicate = "id,name,channel_level\nA1,一,dealer\nB2,二,dealer\nA1,三,dealer\n"
    status, body = await _import(client, duplicate, headers["admin"])
    assert body["error"]["fields"] == ["line 4.id"] and "line 2" in body["error"]["message"]
    for text, field in [
        ("name,channel_level\nX,dealer\n", "line 1"),
        ("id,name,channel_level,colour\nA,B,dealer,red\n", "line 1"),
        ("id,name,channel_level\nA 1,B,dealer\n", "line 2.id"),
        ("id,name,channel_level\nA1,,dealer\n", "line 2.name"),
        ("id,name,channel_level\nA1,B\n", "line 2"),
        ("id,name,channel_level\n", "line 2"),
    ]:
        status, body = await _import(client, text, headers["admin"])
        assert (status, body["error"]["fields"]) == (422, [field]), (text, body)
    latin = await client.post(
        "/api/v1/stores/import",
        data="id,name,channel_level\nA1,Caf\xe9,dealer\n".encode("latin-1"),
        headers={**headers["admin"], "Content-Type": "text/csv"},
    )
    assert "UTF-8" in (await error_of(latin, 422))["message"]
    json_body = await client.post("/api/v1/stores/import", json={}, headers=headers["admin"])
    await error_of(json_body, 415)
    status, _ = await _import(client, CSV, headers["clerk"])
    assert status == 403
    assert await Store.all().count() == 0
    assert await StoreLevelChange.all().count() == 0
    assert {r.status for r in await audit_rows("store.import")} == {403, 415, 422}
