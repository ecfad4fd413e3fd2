"""Helpers shared by the staff API tests: accounts per role, members, audit rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from club.db.models.members import Member
from club.db.models.staff import AuditLog
from club.staff.accounts import create_staff

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
PHONE = "13812345678"
MASKED = "138****5678"

Client = TestClient[Any, Any]


async def staff_headers() -> dict[str, dict[str, str]]:
    """Authorization headers for one account of each role, keyed by role."""
    headers: dict[str, dict[str, str]] = {}
    for role in ("admin", "marketer", "clerk"):
        _, token = await create_staff(f"{role}-1", role, now=NOW)
        headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


async def joined_member(openid: str = "o-alice", **fields: Any) -> Member:
    values: dict[str, Any] = {
        "name": "Alice",
        "phone": PHONE,
        "consent_at": NOW,
        "consent_version": "v1",
        "joined_at": NOW,
    }
    values.update(fields)
    return await Member.create(openid=openid, **values)


async def audit_rows(action: str | None = None) -> list[AuditLog]:
    query = AuditLog.all().order_by("id")
    if action is not None:
        query = query.filter(action=action)
    return await query


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    """Assert the status and the API's error shape; return the inner error object."""
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])
