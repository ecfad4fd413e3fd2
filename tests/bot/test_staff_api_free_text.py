"""Free text in staff API bodies: control characters are refused (422), and nothing is written.

One-line fields (reward name, sku, store, reasons) take no C0 control character (U+0000-U+001F)
and no DEL (U+007F): a tab or a line break in a reward name or a reason breaks the member's
message, the till's receipt and the audit log. A reward's description may run over several lines
(newline and tab) but takes no other control character. The OpenAPI document says the same as a
pattern, and a test below checks that pattern against what the server refuses, character by
character.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bot.staff_api.schemas import AdjustmentIn, PurchaseIn, RewardIn
from bot.staff_api.tiers import TierFloorIn
from club.db.models.catalog import Reward
from club.db.models.ledger import ChannelLevel, LedgerEntry, Purchase, Store
from club.db.models.members import Member
from club.db.models.staff import AuditLog
from tests.bot.test_staff_api_support import Client, error_of, joined_member, staff_headers

# Inside the text, not at its ends: leading and trailing whitespace is trimmed before the check.
REFUSED_ANYWHERE = [
    *("\x00", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f"),
    *("\x80", "\x85", "\x9f"),  # C1 controls; U+0085 is a line break (NEL)
]
REFUSED_IN_ONE_LINE = ["\t", "\n", "\u2028", "\u2029", *REFUSED_ANYWHERE]


def _requests(member_id: int, text: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, url, body, field) for every one-line free-text field, holding `text`."""
    buy: dict[str, Any] = {"member_id": member_id, "amount_fen": 500}
    return [
        (
            "POST",
            f"/api/v1/members/{member_id}/adjustments",
            {"points": 5, "reason": text},
            "reason",
        ),
        (
            "PUT",
            f"/api/v1/members/{member_id}/tier-floor",
            {"tier": "gold", "reason": text},
            "reason",
        ),
        ("POST", "/api/v1/rewards", {"name": text, "points_cost": 5}, "name"),
        ("POST", "/api/v1/purchases", {**buy, "order_id": "T-1", "store": text}, "store"),
        (
            "POST",
            "/api/v1/purchases",
            {**buy, "order_id": "T-2", "items": [{"sku": text, "qty": 1, "amount_fen": 500}]},
            "items.0.sku",
        ),
    ]


async def _nothing_written(member_id: int) -> None:
    assert await Reward.all().count() == 0
    assert await Purchase.all().count() == 0
    assert await LedgerEntry.filter(member_id=member_id).count() == 0
    member = await Member.get(id=member_id)
    assert (member.tier, member.tier_floor, member.points_balance) == ("taste", None, 0)


async def test_one_line_fields_refuse_control_characters_and_write_nothing(
    client: Client,
) -> None:
    member = await joined_member(tier="taste")
    headers = {**(await staff_headers())["admin"], "Content-Type": "application/json"}
    for char in REFUSED_IN_ONE_LINE:
        for method, url, body, field in _requests(member.id, f"ab{char}cd"):
            data = json.dumps(body).encode()
            error = await error_of(
                await client.request(method, url, data=data, headers=headers), 422
            )
            assert error["fields"] == [field], (body, error)
            code_point = f"U+{ord(char):04X}"
            assert code_point in error["message"] and "control character" in error["message"], error
            assert "one line" in error["message"], error
    await _nothing_written(member.id)
    # Refused as invalid input before the view ran: audited as such, nothing else recorded.
    statuses = {row.status for row in await AuditLog.all()}
    assert statuses == {422}


async def test_plain_text_with_spaces_and_any_script_is_accepted(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = (await staff_headers())["admin"]
    text = "金卡 VIP · «Réserve» #12 — 15%"
    await Store.create(id=text, name="Store 12", channel_level=ChannelLevel.KEY_ACCOUNT)
    for method, url, body, _field in _requests(member.id, text):
        resp = await client.request(method, url, json=body, headers=headers)
        assert resp.status in (200, 201), await resp.text()
    assert (await Reward.get()).name == text
    assert (await Purchase.get(order_id="T-1")).store_id == text


async def test_description_keeps_newlines_and_tabs_and_refuses_other_controls(
    client: Client,
) -> None:
    headers = (await staff_headers())["admin"]
    lines = "Two glasses.\n\tEngraved on request.\nPick up in store."
    resp = await client.post(
        "/api/v1/rewards",
        json={"name": "Glass set", "description": lines, "points_cost": 5},
        headers=headers,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["description"] == lines
    assert (await Reward.get()).description == lines
    for char in REFUSED_ANYWHERE:
        body = {"name": "Other", "description": f"a\n{char}b", "points_cost": 5}
        error = await error_of(
            await client.post("/api/v1/rewards", json=body, headers=headers), 422
        )
        assert error["fields"] == ["description"], (char, error)
        assert f"U+{ord(char):04X}" in error["message"], error
    assert await Reward.all().count() == 1


def _doc_pattern(schema: dict[str, Any]) -> str:
    """The pattern of a string property, or of its string branch when it may be null."""
    for branch in [schema, *schema.get("anyOf", [])]:
        if branch.get("type") == "string":
            pattern: str = branch["pattern"]
            return pattern
    raise AssertionError(f"no string schema in {schema}")


def _accepts(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


# (model, a valid body, the field, where the field's schema sits in the document)
FIELDS: list[tuple[type[BaseModel], dict[str, Any], str, tuple[str, ...]]] = [
    (AdjustmentIn, {"points": 5, "reason": ""}, "reason", ("AdjustmentIn", "reason")),
    (TierFloorIn, {"tier": "gold", "reason": ""}, "reason", ("TierFloorIn", "reason")),
    (RewardIn, {"name": "", "points_cost": 5}, "name", ("RewardIn", "name")),
    (
        RewardIn,
        {"name": "n", "description": "", "points_cost": 5},
        "description",
        ("RewardIn", "description"),
    ),
    (
        PurchaseIn,
        {"member_id": 1, "order_id": "o", "amount_fen": 5, "store": ""},
        "store",
        ("PurchaseIn", "store"),
    ),
    (
        PurchaseIn,
        {
            "member_id": 1,
            "order_id": "o",
            "amount_fen": 5,
            "items": [{"sku": "", "qty": 1, "amount_fen": 5}],
        },
        "sku",
        ("PurchaseItem", "sku"),
    ),
]


@pytest.mark.parametrize(("model", "body", "field", "where"), FIELDS, ids=lambda v: str(v))
async def test_the_documented_pattern_is_what_the_server_enforces(
    client: Client,
    model: type[BaseModel],
    body: dict[str, Any],
    field: str,
    where: tuple[str, ...],
) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    schema, prop = where
    pattern = re.compile(_doc_pattern(doc["components"]["schemas"][schema]["properties"][prop]))
    for code_point in [*range(0x00, 0xA2), 0x2028, 0x2029, 0x3000]:
        text = f"ab{chr(code_point)}cd"
        filled = json.loads(json.dumps(body))
        if field == "sku":
            filled["items"][0]["sku"] = text
        else:
            filled[field] = text
        documented = pattern.fullmatch(text) is not None
        assert _accepts(model, filled) is documented, (field, hex(code_point))
