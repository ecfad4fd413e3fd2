"""A staff account's life after creation: list, revoke at once, rotate the token.

Revoking takes effect on the account's next request, whatever worker serves it: every request
reads the account from the database (`accounts.authenticate`), nothing is cached. Rotating
replaces the token (the old one stops working at once) and starts its expiry anew; it also brings
a revoked account back. The last active admin cannot be revoked: nobody could manage staff then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from club.db.models.staff import StaffRole, StaffUser
from club.staff.accounts import StaffIdentity, hash_token, new_token, token_expires_at

log = logging.getLogger(__name__)

CLI = StaffIdentity(0, "cli", StaffRole.ADMIN)
"""Who the audit log names for a change made with `python -m bot staff ...` on the server."""


class StaffNotFound(LookupError):
    pass


class LastAdmin(Exception):
    """Revoking this account would leave no active admin."""


@dataclass(frozen=True)
class StaffAccount:
    id: int
    name: str
    role: StaffRole
    active: bool
    created_at: datetime
    token_issued_at: datetime
    token_expires_at: datetime
    last_used_at: datetime | None
    """The current token's last use (kept to the minute)."""
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if not self.active:
            return "revoked"
        return "expired" if now >= self.token_expires_at else "active"


def account_view(user: StaffUser, max_age: timedelta) -> StaffAccount:
    return StaffAccount(
        user.id, user.name, StaffRole(user.role), user.active, user.created_at,
        user.token_issued_at or user.created_at, token_expires_at(user, max_age),
        user.last_seen_at, user.revoked_at,
    )  # fmt: skip


async def list_staff(max_age: timedelta) -> list[StaffAccount]:
    return [account_view(u, max_age) for u in await StaffUser.all().order_by("name")]


async def _find(key: str | int) -> StaffUser:
    user = await (
        StaffUser.get_or_none(id=key) if isinstance(key, int) else StaffUser.get_or_none(name=key)
    )
    if user is None:
        raise StaffNotFound(f"no staff account {key!r}")
    return user


async def find_staff(key: str | int, max_age: timedelta) -> StaffAccount:
    return account_view(await _find(key), max_age)


async def revoke(key: str | int, now: datetime, max_age: timedelta) -> tuple[StaffAccount, bool]:
    """Revoke the account (by name or id); whether this call changed anything."""
    async with in_transaction() as conn:
        user = await _find(key)
        if not user.active:
            return account_view(user, max_age), False
        if user.role == StaffRole.ADMIN:
            # Rows, not COUNT: PostgreSQL locks no rows for an aggregate. Two admins revoking
            # each other at once queue here, and the second finds one admin left.
            admins = await (
                StaffUser.filter(role=StaffRole.ADMIN, active=True)
                .select_for_update()
                .using_db(conn)
            )
            if len(admins) <= 1:
                raise LastAdmin(f"{user.name!r} is the last active admin; create another first")
        await StaffUser.filter(id=user.id).using_db(conn).update(active=False, revoked_at=now)
        user = await StaffUser.filter(id=user.id).using_db(conn).get()
    log.info("staff account revoked: name=%s", user.name)
    return account_view(user, max_age), True


async def rotate(key: str | int, now: datetime, max_age: timedelta) -> tuple[StaffAccount, str]:
    """A new token for the account (shown once); the old one stops working at once."""
    user = await _find(key)
    token = new_token()
    await StaffUser.filter(id=user.id).update(
        token_hash=hash_token(token), token_issued_at=now, active=True, revoked_at=None,
        last_seen_at=None,
    )  # fmt: skip
    log.info("staff token rotated: name=%s", user.name)
    return account_view(await StaffUser.get(id=user.id), max_age), token
