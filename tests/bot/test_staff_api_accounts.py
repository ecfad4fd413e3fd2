"""Staff accounts through the API: list, create, revoke at once, rotate, tokens that expire, the
last use kept to the minute; the audit log read by admins; data rights on a request by phone."""

from __future__ import annotations

from datetime import timedelta

from club.clock import FixedClock
from club.db.models.members import Member, MemberStatus
from club.db.models.staff import StaffUser
from tests.bot.test_staff_api_support import (
    PHONE,
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_revoked_token_is_refused_at_once(client: Client) -> None:
    headers = await staff_headers()
    member = await joined_member()
    clerk = await StaffUser.get(name="clerk-1")
    ok = await client.get(f"/api/v1/members/{member.id}", headers=headers["clerk"])
    assert ok.status == 200
    revoked = await client.post(f"/api/v1/staff/{clerk.id}/revoke", headers=headers["admin"])
    body = await revoked.json()
    assert (body["state"], body["name"]) == ("revoked", "clerk-1") and body["revoked_at"]
    refused = await client.get(f"/api/v1/members/{member.id}", headers=headers["clerk"])
    await error_of(refused, 401)
    # Rotating gives a new token (the account is active again); the old one stays refused.
    rotated = await client.post(f"/api/v1/staff/{clerk.id}/rotate", headers=headers["admin"])
    fresh = await rotated.json()
    assert fresh["account"]["state"] == "active" and fresh["token"].startswith("cb_")
    assert (
        await client.get(f"/api/v1/members/{member.id}", headers=bearer(fresh["token"]))
    ).status == 200
    await error_of(await client.get(f"/api/v1/members/{member.id}", headers=headers["clerk"]), 401)
    # Only admins manage accounts; the last admin cannot be revoked.
    await error_of(await client.get("/api/v1/staff", headers=headers["marketer"]), 403)
    admin = await StaffUser.get(name="admin-1")
    last = await client.post(f"/api/v1/staff/{admin.id}/revoke", headers=headers["admin"])
    assert (await error_of(last, 409))["code"] == "last_admin"
    await error_of(await client.post("/api/v1/staff/999/revoke", headers=headers["admin"]), 404)
    rows = await audit_rows()
    actions = [(r.action, r.status) for r in rows if r.action.startswith("staff.")]
    assert actions == [
        ("staff.revoke", 200),
        ("staff.rotate", 200),
        ("staff.revoke", 409),
        ("staff.revoke", 404),
    ]
    assert not any(fresh["token"] in str(r.summary) for r in rows)


async def test_accounts_are_created_listed_and_their_tokens_expire(
    client: Client, clock: FixedClock
) -> None:
    headers = await staff_headers()
    created = await client.post(
        "/api/v1/staff", json={"name": "li.na", "role": "clerk"}, headers=headers["admin"]
    )
    body = await created.json()
    assert created.status == 201, body
    token = body["token"]
    assert body["account"]["token_expires_at"].startswith("2027-02-21T10:00")  # 90 days
    taken = await client.post(
        "/api/v1/staff", json={"name": "li.na", "role": "admin"}, headers=headers["admin"]
    )
    await error_of(taken, 409)
    assert (await client.get("/api/v1/stores", headers=bearer(token))).status == 200
    listed = await (await client.get("/api/v1/staff", headers=headers["admin"])).json()
    names = {a["name"]: a for a in listed["staff"]}
    assert set(names) == {"admin-1", "marketer-1", "clerk-1", "li.na"}
    assert names["li.na"]["last_used_at"] is not None
    assert names["marketer-1"]["last_used_at"] is None
    clock.advance(timedelta(days=90))
    expired = await client.get("/api/v1/stores", headers=bearer(token))
    assert "expired" in (await error_of(expired, 401))["message"]
    listed = await client.get("/api/v1/staff", headers=headers["admin"])
    # The admin's own token expired too: all were made at the same time.
    await error_of(listed, 401)


async def test_the_last_use_is_written_at_most_once_a_minute(
    client: Client, clock: FixedClock
) -> None:
    headers = await staff_headers()
    first = clock.now()
    for _ in range(3):
        await client.get("/api/v1/stores", headers=headers["clerk"])
        clock.advance(timedelta(seconds=20))
    assert (await StaffUser.get(name="clerk-1")).last_seen_at == first
    await client.get("/api/v1/stores", headers=headers["clerk"])
    assert (await StaffUser.get(name="clerk-1")).last_seen_at == clock.now()


async def test_admins_read_the_audit_log_by_staff_member_action_and_time(
    client: Client, clock: FixedClock
) -> None:
    headers = await staff_headers()
    alice = await joined_member()
    bob = await joined_member("o-bob", phone="13900001111")
    for member in (alice, bob, alice):
        await client.get(f"/api/v1/members/{member.id}", headers=headers["clerk"])
        clock.advance(timedelta(minutes=10))
    await client.post(
        f"/api/v1/members/{alice.id}/adjustments",
        json={"points": 5, "reason": "补偿"},
        headers=headers["marketer"],
    )
    url = "/api/v1/audit"
    page = await (
        await client.get(url, params={"member_id": alice.id}, headers=headers["admin"])
    ).json()
    assert [e["action"] for e in page["entries"]] == ["points.adjust", "member.read", "member.read"]
    by_clerk = await (
        await client.get(url, params={"staff": "clerk-1", "limit": 2}, headers=headers["admin"])
    ).json()
    assert [e["member_id"] for e in by_clerk["entries"]] == [alice.id, bob.id]
    rest = await (
        await client.get(
            url,
            params={"staff": "clerk-1", "before_id": by_clerk["next_before_id"]},
            headers=headers["admin"],
        )
    ).json()
    assert [e["member_id"] for e in rest["entries"]] == [alice.id] and rest[
        "next_before_id"
    ] is None
    since = (clock.now() - timedelta(minutes=15)).isoformat()
    recent = await (
        await client.get(
            url, params={"action": "member.", "since": since}, headers=headers["admin"]
        )
    ).json()
    assert [e["member_id"] for e in recent["entries"]] == [alice.id]
    await error_of(await client.get(url, headers=headers["marketer"]), 403)
    bad = await client.get(url, params={"since": "yesterday"}, headers=headers["admin"])
    assert (await error_of(bad, 422))["fields"] == ["since"]


async def test_export_and_erasure_on_a_request_by_phone_keep_the_reason(client: Client) -> None:
    headers = await staff_headers()
    member = await joined_member()
    request = {"reason": "会员来电要求查看数据", "requested_via": "phone"}
    clerk = await client.post(
        f"/api/v1/members/{member.id}/data-export", json=request, headers=headers["clerk"]
    )
    await error_of(clerk, 403)
    resp = await client.post(
        f"/api/v1/members/{member.id}/data-export", json=request, headers=headers["admin"]
    )
    export = await resp.json()
    assert resp.status == 200, export
    assert (export["profile"]["phone"], export["profile"]["name"]) == (PHONE, "Alice")
    no_reason = await client.post(
        f"/api/v1/members/{member.id}/data-erasure",
        json={"requested_via": "letter"},
        headers=headers["admin"],
    )
    assert (await error_of(no_reason, 422))["fields"] == ["reason"]
    erase = {"reason": "会员来信要求删除", "requested_via": "letter"}
    done = await client.post(
        f"/api/v1/members/{member.id}/data-erasure", json=erase, headers=headers["admin"]
    )
    assert (await done.json())["already_erased"] is False
    again = await client.post(
        f"/api/v1/members/{member.id}/data-erasure", json=erase, headers=headers["admin"]
    )
    assert (await again.json())["already_erased"] is True
    stored = await Member.get(id=member.id)
    assert (stored.phone, stored.status) == (None, MemberStatus.DELETED)
    rows = await audit_rows("member.data_erasure")
    assert [(r.status, r.summary.get("reason"), r.member_id) for r in rows] == [
        (422, None, member.id),
        (200, "会员来信要求删除", member.id),
        (200, "会员来信要求删除", member.id),
    ]
    [exported] = [r for r in await audit_rows("member.data_export") if r.status == 200]
    assert exported.summary["requested_via"] == "phone" and PHONE not in str(exported.summary)
