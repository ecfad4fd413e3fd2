"""A member as staff tools and outbound messages read it: a typed copy of the stored row.

Callers outside the domain (the staff API) get this record instead of the ORM row, so they never
hold a model they could save or query through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from club.db.models.members import Member, MemberStatus
from club.db.openids import with_openid

__all__ = [
    "MemberRecord",
    "MemberStatus",
    "member_by_id",
    "member_by_openid",
    "member_number",
    "members_by_phone",
    "parse_member_number",
]

NUMBER_DIGITS = 8


def member_number(member_id: int) -> str:
    """The member number printed on the card: the id, zero-padded to 8 digits."""
    return f"{member_id:0{NUMBER_DIGITS}d}"


def parse_member_number(text: str) -> int | None:
    """The id behind a member number as a clerk types it (`00000012`, `12`), or None."""
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18 or int(digits) < 1:
        return None
    return int(digits)


@dataclass(frozen=True)
class MemberRecord:
    id: int
    openid: str
    status: MemberStatus
    language: str
    name: str | None
    phone: str | None
    """Whole: callers mask it for whoever may not see it."""
    birthday_solar: date | None
    birthday_lunar_month: int | None
    birthday_lunar_day: int | None
    birthday_lunar_leap: bool
    joined_at: datetime | None
    source_kind: str | None
    source_ref: str | None
    points_balance: int
    points_debt: int
    flagged_for_review: bool
    last_interaction_at: datetime | None
    unreachable: bool
    """WeChat refused to deliver to them (a template message needs a reachable member)."""

    @property
    def deleted(self) -> bool:
        return self.status is MemberStatus.DELETED

    @property
    def joined(self) -> bool:
        return self.joined_at is not None


def _record(m: Member) -> MemberRecord:
    return MemberRecord(
        id=m.id,
        openid=m.openid,
        status=MemberStatus(m.status),
        language=m.language,
        name=m.name,
        phone=m.phone,
        birthday_solar=m.birthday_solar,
        birthday_lunar_month=m.birthday_lunar_month,
        birthday_lunar_day=m.birthday_lunar_day,
        birthday_lunar_leap=m.birthday_lunar_leap,
        joined_at=m.joined_at,
        source_kind=m.source_kind,
        source_ref=m.source_ref,
        points_balance=m.points_balance,
        points_debt=m.points_debt,
        flagged_for_review=m.flagged_for_review,
        last_interaction_at=m.last_interaction_at,
        unreachable=m.unreachable_at is not None,
    )


async def member_by_id(member_id: int) -> MemberRecord | None:
    """The member with this id, whatever their status (check `deleted`), or None."""
    member = await Member.get_or_none(id=member_id)
    return None if member is None else _record(member)


async def member_by_openid(openid: str) -> MemberRecord | None:
    """The member behind an openid (erased members have no openid left to find), or None."""
    member = await with_openid(openid).get_or_none()
    return None if member is None else _record(member)


async def members_by_phone(phone: str) -> list[MemberRecord]:
    """The members (not erased) who gave this 11-digit number, oldest first."""
    found = await Member.filter(phone=phone).exclude(status=MemberStatus.DELETED).order_by("id")
    return [_record(m) for m in found]
