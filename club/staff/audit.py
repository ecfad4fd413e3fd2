"""Reading the audit log: by staff member, member, action and time, newest first, in pages.

A read model: one indexed query shaped for the page (cosmicpython's CQRS). Paging is by id
(`before_id`), so rows written while someone pages never shift a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from club.db.models.staff import AuditLog


@dataclass(frozen=True)
class AuditFilter:
    staff_id: int | None = None
    staff_name: str | None = None
    member_id: int | None = None
    action: str | None = None
    """An exact action (`voucher.use`) or a prefix ending in a dot (`store.`)."""
    since: datetime | None = None
    until: datetime | None = None
    """Exclusive."""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    staff_id: int
    staff_name: str
    staff_role: str
    action: str
    target: str | None
    member_id: int | None
    status: int
    summary: dict[str, object]


async def read_audit(
    where: AuditFilter, *, limit: int, before_id: int | None = None
) -> list[AuditEntry]:
    query = AuditLog.all()
    if where.staff_id is not None:
        query = query.filter(staff_id=where.staff_id)
    if where.staff_name is not None:
        query = query.filter(staff_name=where.staff_name)
    if where.member_id is not None:
        query = query.filter(member_id=where.member_id)
    if where.action is not None:
        if where.action.endswith("."):
            query = query.filter(action__startswith=where.action)
        else:
            query = query.filter(action=where.action)
    if where.since is not None:
        query = query.filter(at__gte=where.since)
    if where.until is not None:
        query = query.filter(at__lt=where.until)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.order_by("-id").limit(limit)
    return [_entry(r) for r in rows]


def _entry(r: AuditLog) -> AuditEntry:
    return AuditEntry(
        r.id, r.at, r.staff_id, r.staff_name, r.staff_role, r.action, r.target, r.member_id,
        r.status, dict(r.summary),
    )  # fmt: skip
