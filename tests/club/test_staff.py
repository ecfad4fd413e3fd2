"""Staff accounts, tokens, role permissions and audit rows (service level, no HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.db.models.staff import AuditLog, StaffRole, StaffUser
from club.staff.accounts import (
    Permission,
    StaffError,
    authenticate,
    can,
    create_staff,
    deactivate,
    hash_token,
    new_token,
    record_audit,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_tokens_are_long_random_and_hash_to_hex() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith("cb_") and len(t) >= 43 for t in tokens)
    digest = hash_token("cb_x")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert hash_token("cb_x") == digest != hash_token("cb_y")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (
            StaffRole.CLERK,
            {
                "record_purchase",
                "record_return",
                "read_member",
                "read_ledger",
                "read_rewards",
                "read_stores",
                "fulfil_vouchers",
                "handle_tickets",
                "own_qr_code",
            },
        ),
        (
            StaffRole.MARKETER,
            {
                "record_purchase",
                "record_return",
                "read_member",
                "read_ledger",
                "read_rewards",
                "adjust_points",
                "set_tier_floor",
                "issue_codes",
                "manage_rewards",
                "read_dashboard",
                "read_programme",
                "read_stores",
                "fulfil_vouchers",
                "cancel_redemptions",
                "manage_segments",
                "manage_campaigns",
                "manage_accounts",
                "assign_managers",
                "read_reports",
                "read_jobs",
                "handle_tickets",
                "own_qr_code",
            },
        ),
        (StaffRole.ADMIN, {p.value for p in Permission}),
    ],
)
def test_role_permissions(role: StaffRole, allowed: set[str]) -> None:
    assert {p.value for p in Permission if can(role, p)} == allowed


def test_only_admin_sees_whole_phones_and_clerks_cannot_adjust() -> None:
    assert [r for r in StaffRole if can(r, Permission.SEE_FULL_PHONE)] == [StaffRole.ADMIN]
    assert not can("clerk", Permission.ADJUST_POINTS)
    assert not can("clerk", Permission.SET_TIER_FLOOR)


async def test_create_and_authenticate(db: None) -> None:
    user, token = await create_staff("li.wei", "marketer", now=NOW)
    assert user.role == StaffRole.MARKETER
    stored = await StaffUser.get(id=user.id)
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    found = await authenticate(token, now=NOW + timedelta(minutes=5))
    assert found is not None and found.id == user.id
    assert (await StaffUser.get(id=user.id)).last_seen_at == NOW + timedelta(minutes=5)
    await authenticate(token, now=NOW + timedelta(minutes=5, seconds=30))
    assert (await StaffUser.get(id=user.id)).last_seen_at == NOW + timedelta(minutes=5)
    await authenticate(token, now=NOW + timedelta(minutes=7))
    assert (await StaffUser.get(id=user.id)).last_seen_at == NOW + timedelta(minutes=7)
    assert await authenticate(token + "x") is None
    assert await authenticate("") is None
    assert await authenticate(stored.token_hash) is None  # the hash is not a token
    assert await deactivate("li.wei")
    assert await authenticate(token) is None
    assert not await deactivate("nobody")


async def test_create_refuses_bad_names_roles_and_duplicates(db: None) -> None:
    await create_staff("ann", StaffRole.ADMIN, now=NOW)
    with pytest.raises(StaffError, match="already exists"):
        await create_staff("ann", "clerk", now=NOW)
    with pytest.raises(StaffError, match="role must be one of"):
        await create_staff("bob", "owner", now=NOW)
    for name in ("", "a b", "x" * 65, "semi;colon"):
        with pytest.raises(StaffError, match="staff name"):
            await create_staff(name, "clerk", now=NOW)
    assert await StaffUser.all().count() == 1


async def test_audit_rows_keep_who_what_target_and_when(db: None) -> None:
    user, _ = await create_staff("zhao", "clerk", now=NOW)
    row = await record_audit(
        user,
        action="purchase.record",
        target="order:A-1",
        status=200,
        summary={"amount_fen": 100, "items": {"count": 2}},
        now=NOW,
    )
    stored = await AuditLog.get(id=row.id)
    assert (stored.staff_id, stored.staff_name, stored.staff_role) == (user.id, "zhao", "clerk")
    assert (stored.action, stored.target, stored.status) == ("purchase.record", "order:A-1", 200)
    assert stored.summary == {"amount_fen": 100, "items": {"count": 2}}
    assert stored.at == NOW
