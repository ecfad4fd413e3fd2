"""Member lookup, ledger and adjustments through the staff API."""

from __future__ import annotations

from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member, MemberStatus
from club.db.models.staff import AuditLog, StaffUser
from club.points import ledger as points
from club.rules.kinds import EntryKind
from tests.bot.test_staff_api_support import (
    NOW,
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)


async def test_member_by_id_and_by_openid(client: Client) -> None:
    member = await joined_member(tier="silver", birthday_lunar_month=8, birthday_lunar_day=15)
    headers = await staff_headers()
    by_id = await client.get(f"/api/v1/members/{member.id}", headers=headers["admin"])
    assert by_id.status == 200
    body = await by_id.json()
    assert body["id"] == member.id
    assert body["openid"] == "o-alice"
    assert body["tier"] == "silver"
    assert body["tier_name"]
    assert body["next_tier"] is not None
    assert body["birthday_lunar"] == {"month": 8, "day": 15, "leap": False}
    assert body["balance"] == 0 and body["debt"] == 0
    by_openid = await client.get(
        "/api/v1/members", params={"openid": "o-alice"}, headers=headers["admin"]
    )
    assert by_openid.status == 200
    assert await by_openid.json() == body


async def test_unknown_or_deleted_member_is_404(client: Client) -> None:
    headers = await staff_headers()
    await error_of(await client.get("/api/v1/members/999", headers=headers["clerk"]), 404)
    gone = await joined_member("o-gone", status=MemberStatus.DELETED)
    await error_of(await client.get(f"/api/v1/members/{gone.id}", headers=headers["admin"]), 404)
    resp = await client.get(
        "/api/v1/members", params={"openid": "o-gone"}, headers=headers["admin"]
    )
    await error_of(resp, 404)


async def test_bad_member_id_and_query_name_the_field(client: Client) -> None:
    headers = await staff_headers()
    for bad in ("abc", "0", "-3", "1.5", "9" * 30):
        error = await error_of(
            await client.get(f"/api/v1/members/{bad}", headers=headers["admin"]), 422
        )
        assert error["fields"] == ["id"]
    error = await error_of(await client.get("/api/v1/members", headers=headers["admin"]), 422)
    assert error["fields"] == ["query"] and "one of openid, phone or number" in error["message"]
    resp = await client.get(
        "/api/v1/members", params={"openid": "a b;drop"}, headers=headers["admin"]
    )
    assert (await error_of(resp, 422))["fields"] == ["openid"]
    resp = await client.get(
        "/api/v1/members", params={"openid": "o-1", "extra": "x"}, headers=headers["admin"]
    )
    assert (await error_of(resp, 422))["fields"] == ["extra"]
    # Refused reads are audited too (who probed what).
    assert await AuditLog.filter(status=422).count() == 8


async def _credit(member_id: int, amount: int, ref: str) -> None:
    await points.credit(
        member_id, amount, kind=EntryKind.BONUS, ref=ref, reason="welcome gift", now=NOW
    )


async def test_ledger_lists_movements_with_reasons_newest_first(client: Client) -> None:
    member = await joined_member()
    await _credit(member.id, 100, "welcome:1")
    await _credit(member.id, 20, "checkin:1")
    headers = await staff_headers()
    resp = await client.get(f"/api/v1/members/{member.id}/ledger", headers=headers["clerk"])
    assert resp.status == 200
    body = await resp.json()
    assert body["balance"] == 120 and body["member_id"] == member.id
    assert [(e["kind"], e["points"], e["ref"]) for e in body["entries"]] == [
        ("bonus", 20, "checkin:1"),
        ("bonus", 100, "welcome:1"),
    ]
    assert all(e["reason"] == "welcome gift" for e in body["entries"])
    newest = body["entries"][0]["id"]
    page = await client.get(
        f"/api/v1/members/{member.id}/ledger",
        params={"limit": "5", "before_id": str(newest)},
        headers=headers["clerk"],
    )
    assert [e["ref"] for e in (await page.json())["entries"]] == ["welcome:1"]
    bad = await client.get(
        f"/api/v1/members/{member.id}/ledger", params={"limit": "0"}, headers=headers["clerk"]
    )
    assert (await error_of(bad, 422))["fields"] == ["limit"]
    await error_of(await client.get("/api/v1/members/77/ledger", headers=headers["clerk"]), 404)
    assert [r.target for r in await audit_rows("ledger.read")][:2] == [f"member:{member.id}"] * 2


async def test_adjustment_credits_and_debits_with_a_reason(client: Client) -> None:
    member = await joined_member()
    headers = await staff_headers()
    url = f"/api/v1/members/{member.id}/adjustments"
    resp = await client.post(
        url, json={"points": 50, "reason": "missed receipt", "ref": "t-1"}, headers=headers["admin"]
    )
    assert resp.status == 201
    assert await resp.json() == {
        "member_id": member.id,
        "points": 50,
        "ref": "t-1",
        "balance": 50,
        "debt": 0,
    }
    # A retry with the same ref changes nothing and answers the same.
    again = await client.post(
        url, json={"points": 50, "reason": "missed receipt", "ref": "t-1"}, headers=headers["admin"]
    )
    assert again.status == 201 and (await again.json())["balance"] == 50
    resp = await client.post(
        url, json={"points": -20, "reason": "double entry"}, headers=headers["marketer"]
    )
    assert resp.status == 201 and (await resp.json())["balance"] == 30
    assert (await Member.get(id=member.id)).points_balance == 30
    entry = await LedgerEntry.filter(member_id=member.id, points=-20).get()
    assert entry.reason == "double entry"
    assert entry.actor_id == (await StaffUser.get(name="marketer-1")).id
    rows = await audit_rows("points.adjust")
    assert [(r.staff_name, r.status, r.target) for r in rows] == [
        ("admin-1", 201, f"member:{member.id}"),
        ("admin-1", 201, f"member:{member.id}"),
        ("marketer-1", 201, f"member:{member.id}"),
    ]
    assert rows[2].summary["points"] == -20 and rows[2].summary["reason"] == "double entry"


async def test_clerk_may_not_adjust_and_nothing_changes(client: Client) -> None:
    member = await joined_member()
    headers = await staff_headers()
    resp = await client.post(
        f"/api/v1/members/{member.id}/adjustments",
        json={"points": 500, "reason": "friend"},
        headers=headers["clerk"],
    )
    error = await error_of(resp, 403)
    assert "clerk" in error["message"] and "adjust" in error["message"]
    assert (await Member.get(id=member.id)).points_balance == 0
    assert await LedgerEntry.all().count() == 0
    [row] = await audit_rows("points.adjust")
    assert (row.staff_role, row.status, row.summary["refused"]) == ("clerk", 403, "forbidden")


async def test_refused_and_invalid_adjustments_change_nothing(client: Client) -> None:
    member = await joined_member()
    await _credit(member.id, 10, "welcome:1")
    headers = await staff_headers()
    url = f"/api/v1/members/{member.id}/adjustments"
    cases: list[tuple[object, int, list[str] | None]] = [
        ({"points": -11, "reason": "too much"}, 409, None),
        ({"points": 0, "reason": "nothing"}, 422, None),
        ({"points": 1.5, "reason": "float"}, 422, ["points"]),
        ({"points": "5", "reason": "text"}, 422, ["points"]),
        ({"points": 5}, 422, ["reason"]),
        ({"points": 5, "reason": "ok", "bonus": 1}, 422, ["bonus"]),
        ([1, 2], 422, None),
    ]
    for body, status, fields in cases:
        error = await error_of(await client.post(url, json=body, headers=headers["admin"]), status)
        if fields is not None:
            assert error["fields"] == fields, body
    await error_of(await client.post(url, data="{not json", headers=headers["admin"]), 400)
    await error_of(await client.post(url, headers=headers["admin"]), 400)
    resp = await client.post(
        "/api/v1/members/404/adjustments",
        json={"points": 5, "reason": "x1"},
        headers=headers["admin"],
    )
    await error_of(resp, 404)
    assert (await Member.get(id=member.id)).points_balance == 10
    assert await LedgerEntry.all().count() == 1
