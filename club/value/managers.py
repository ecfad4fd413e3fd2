"""Relationship managers for key customers, and the contacts staff make with customers.

A key customer is a member of value class A or a contact of a group-purchase account (key by
definition). Managers see which of their key customers nobody on the staff contacted for N days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from club.db.models.accounts import GroupAccountContact
from club.db.models.members import Member
from club.db.models.service import ContactChannel as ContactChannel
from club.db.models.service import RelationshipManager, StaffContact
from club.db.models.staff import StaffUser
from club.db.models.value import MemberValue
from club.points.ledger import UnknownMember
from club.reports.sql import fetch

log = logging.getLogger(__name__)


class ManagerError(ValueError):
    """The assignment or contact cannot be recorded as asked; nothing changed."""


class NotKeyCustomer(ManagerError):
    pass


@dataclass(frozen=True)
class Assignment:
    member_id: int
    staff_id: int
    staff_name: str
    assigned_at: datetime
    changed: bool


@dataclass(frozen=True)
class NeglectedCustomer:
    member_id: int
    name: str | None
    value_class: str | None
    account: str | None
    last_contact_at: datetime | None
    """None: never contacted by staff."""


async def is_key_customer(member_id: int) -> bool:
    if await GroupAccountContact.filter(member_id=member_id).exists():
        return True
    return await MemberValue.filter(member_id=member_id, value_class="A").exists()


async def assign_manager(
    member_id: int, staff_id: int, *, now: datetime, actor_id: int
) -> Assignment:
    """Make `staff_id` the member's relationship manager (a key customer's only)."""
    if not await Member.filter(id=member_id).exists():
        raise UnknownMember(member_id)
    staff = await StaffUser.get_or_none(id=staff_id, active=True)
    if staff is None:
        raise ManagerError(f"staff_id: no active staff account with id {staff_id}")
    if not await is_key_customer(member_id):
        raise NotKeyCustomer(
            f"member {member_id} is not a key customer (value class A or a group-purchase "
            "account's contact)"
        )
    async with in_transaction() as conn:
        current = await RelationshipManager.filter(member_id=member_id).using_db(conn).first()
        if current is not None and current.staff_id == staff_id:
            return Assignment(member_id, staff_id, staff.name, current.assigned_at, False)
        if current is None:
            await RelationshipManager.create(
                using_db=conn,
                member_id=member_id,
                staff_id=staff_id,
                assigned_at=now,
                assigned_by=actor_id,
            )
        else:
            await (
                RelationshipManager.filter(id=current.id)
                .using_db(conn)
                .update(staff_id=staff_id, assigned_at=now, assigned_by=actor_id)
            )
    log.info("relationship manager member=%s staff=%s", member_id, staff_id)
    return Assignment(member_id, staff_id, staff.name, now, True)


async def log_contact(
    member_id: int, staff_id: int, channel: ContactChannel, note: str, *, now: datetime
) -> StaffContact:
    if not await Member.filter(id=member_id).exists():
        raise UnknownMember(member_id)
    return await StaffContact.create(
        member_id=member_id, staff_id=staff_id, channel=channel, note=note, at=now
    )


async def neglected_customers(
    staff_id: int, days: int, *, now: datetime
) -> list[NeglectedCustomer]:
    """The manager's key customers nobody on the staff contacted in the last `days` days,
    the longest forgotten first (never contacted before all)."""
    rows = await fetch(
        "SELECT rm.member_id, m.name, mv.value_class, ga.name AS account, c.last_at"
        " FROM relationship_manager rm JOIN member m ON m.id = rm.member_id"
        " LEFT JOIN member_value mv ON mv.member_id = rm.member_id"
        " LEFT JOIN group_account_contact gc ON gc.member_id = rm.member_id"
        " LEFT JOIN group_account ga ON ga.id = gc.account_id"
        " LEFT JOIN (SELECT sc.member_id, MAX(sc.at) AS last_at FROM staff_contact sc"
        " JOIN relationship_manager r ON r.member_id = sc.member_id AND r.staff_id = :staff"
        " GROUP BY sc.member_id) c ON c.member_id = rm.member_id"
        " WHERE rm.staff_id = :staff AND (c.last_at IS NULL OR c.last_at < :since)"
        " ORDER BY CASE WHEN c.last_at IS NULL THEN 0 ELSE 1 END, c.last_at, rm.member_id",
        {"staff": staff_id, "since": now - timedelta(days=days)},
    )
    return [
        NeglectedCustomer(
            member_id=int(r["member_id"]),
            name=r["name"],
            value_class=r["value_class"],
            account=r["account"],
            last_contact_at=None if r["last_at"] is None else _as_datetime(r["last_at"]),
        )
        for r in rows
    ]


def _as_datetime(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
