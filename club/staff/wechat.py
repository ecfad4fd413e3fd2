"""Binding a staff account to its own WeChat: the API gives a one-time code, the staff member
sends it to the Official Account in chat, and campaign tests then go to that WeChat.

Codes are 6 characters from an alphabet without look-alikes (no 0/O, 1/I/L), valid for ten
minutes, used once, stored only as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from club.db import tx
from club.db.models.staff import StaffUser
from club.db.models.staff_wechat import StaffBindCode, StaffWeChat

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class BindCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Bound:
    staff_id: int
    staff_name: str


def _hash(code: str) -> str:
    return hashlib.sha256(code.upper().encode("ascii")).hexdigest()


async def new_code(staff_id: int, now: datetime) -> BindCode:
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires = now + CODE_TTL
    async with tx.transaction() as conn:
        await StaffBindCode.filter(staff_id=staff_id).using_db(conn).delete()
        await StaffBindCode.create(
            using_db=conn, staff_id=staff_id, code_hash=_hash(code), expires_at=expires
        )
    return BindCode(code, expires)


async def bind(openid: str, code: str, now: datetime) -> Bound | None:
    """Bind the sender's WeChat to the account the code belongs to; None for a code that is
    unknown, used or expired (nothing changes)."""
    if len(code) != CODE_LENGTH or not code.isascii():
        return None
    async with tx.transaction() as conn:
        found = await StaffBindCode.filter(code_hash=_hash(code)).using_db(conn).first()
        if found is None:
            return None
        await StaffBindCode.filter(id=found.id).using_db(conn).delete()
        if found.expires_at <= now:
            return None
        staff = await StaffUser.filter(id=found.staff_id, active=True).using_db(conn).first()
        if staff is None:
            return None
        await StaffWeChat.filter(staff_id=staff.id).using_db(conn).delete()
        await StaffWeChat.create(using_db=conn, staff_id=staff.id, openid=openid, bound_at=now)
    return Bound(staff.id, staff.name)


async def bound_openid(staff_id: int) -> str | None:
    found = await StaffWeChat.get_or_none(staff_id=staff_id)
    return None if found is None else found.openid
