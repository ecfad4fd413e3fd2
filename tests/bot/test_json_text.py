"""The staff API's JSON keeps Chinese readable: characters, not `\\u` escapes."""

from __future__ import annotations

from tests.bot.test_staff_api_support import Client, staff_headers


async def test_the_staff_api_answers_chinese_as_characters(client: Client) -> None:
    headers = await staff_headers()
    body = {"id": "SH-01", "name": "上海旗舰店", "channel_level": "key_account", "region": "华东"}
    resp = await client.post("/api/v1/stores", json=body, headers=headers["admin"])
    assert resp.status in (200, 201), await resp.text()
    raw = await resp.text()
    assert "上海旗舰店" in raw and "华东" in raw and "\\u" not in raw
    assert resp.content_type == "application/json" and resp.charset == "utf-8"
    listing = await client.get("/api/v1/stores", headers=headers["clerk"])
    assert "上海旗舰店" in await listing.text()
    refused = await client.post(
        "/api/v1/members/999999/adjustments",
        json={"points": 10, "reason": "补录"},
        headers=headers["admin"],
    )
    assert refused.status == 404
    assert "\\u" not in await refused.text()
