"""Console passwords of staff accounts: argon2id hashes, and lock-out after wrong guesses.

The staff API keeps its bearer tokens; a password only opens the web console. Six wrong
passwords in a row lock the account for `LOCKOUT` (the right password is refused too while it
lasts), so guessing is slow even from many addresses. Every outcome is returned, never raised,
so the caller can audit each attempt.

Hashing costs tens of milliseconds of CPU: it runs in a thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.expressions import F

from club.db.models.staff import StaffRole, StaffUser
from club.staff.accounts import StaffError, StaffIdentity

log = logging.getLogger(__name__)

MIN_LENGTH = 10
MAX_LENGTH = 128
MAX_FAILURES = 6
LOCKOUT = timedelta(minutes=15)


class SignInOutcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    """Unknown name, no password set, inactive account or wrong password: one answer for all."""
    LOCKED = "locked"


@dataclass(frozen=True)
class SignIn:
    outcome: SignInOutcome
    staff: StaffIdentity | None
    """The account the name belongs to (set for a wrong password too, so it can be audited)."""
    password_stamp: str | None = None
    locked_until: datetime | None = None
    failures: int = 0
    """Wrong passwords in a row so far (0 after a good one or when a lock-out starts)."""


@dataclass(frozen=True)
class ConsoleAccount:
    """What a console request needs of the signed-in account, read fresh on every request."""

    staff: StaffIdentity
    active: bool
    password_stamp: str | None


@dataclass(frozen=True)
class StaffSummary:
    id: int
    name: str
    role: StaffRole
    active: bool
    has_password: bool
    locked_until: datetime | None
    last_seen_at: datetime | None


def password_stamp(digest: str | None) -> str | None:
    """Names the password in force without revealing its hash: a session opened under one
    password ends when another is set (each hash has its own salt, so even the same password
    set again gets a new stamp). A rehash on sign-in changes it too: the user is signed in anew."""
    if digest is None:
        return None
    return hashlib.sha256(digest.encode("utf-8")).hexdigest()[:32]


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so the answer takes as long either way."""
    return _hasher().hash("clubbot: no such account")


def check_password_rules(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise StaffError(f"a password is {MIN_LENGTH}-{MAX_LENGTH} characters long")
    if password != password.strip():
        raise StaffError("a password may not start or end with a space")


async def set_password(name: str, password: str, *, now: datetime) -> StaffIdentity:
    """Set an active account's console password; lifts a lock-out, ends its other sessions."""
    check_password_rules(password)
    user = await StaffUser.get_or_none(name=name, active=True)
    if user is None:
        raise StaffError(f"no active staff account named {name!r}")
    digest = await asyncio.to_thread(_hasher().hash, password)
    await StaffUser.filter(id=user.id).update(
        password_hash=digest, password_changed_at=now, failed_sign_ins=0, locked_until=None
    )
    log.info("console password set: staff=%s", user.name)
    return StaffIdentity(user.id, user.name, StaffRole(user.role))


async def _verify(digest: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher().verify, digest, password)
    except (VerificationError, InvalidHashError):
        return False


async def sign_in(name: str, password: str, *, now: datetime) -> SignIn:
    """Check a name and password; count a wrong one and lock the account at the sixth."""
    user = await StaffUser.get_or_none(name=name[:64], active=True)
    if user is None or user.password_hash is None:
        await _verify(_dummy_hash(), password)
        staff = None if user is None else StaffIdentity(user.id, user.name, StaffRole(user.role))
        return SignIn(SignInOutcome.WRONG, staff)
    staff = StaffIdentity(user.id, user.name, StaffRole(user.role))
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(SignInOutcome.LOCKED, staff, locked_until=user.locked_until)
    if await _verify(user.password_hash, password):
        digest = user.password_hash
        if _hasher().check_needs_rehash(digest):
            digest = await asyncio.to_thread(_hasher().hash, password)
        await StaffUser.filter(id=user.id).update(
            failed_sign_ins=0, locked_until=None, password_hash=digest
        )
        return SignIn(SignInOutcome.OK, staff, password_stamp=password_stamp(digest))
    # One statement each, so concurrent wrong guesses are all counted and lock exactly once.
    await StaffUser.filter(id=user.id).update(failed_sign_ins=F("failed_sign_ins") + 1)
    until = now + LOCKOUT
    locked = await StaffUser.filter(id=user.id, failed_sign_ins__gte=MAX_FAILURES).update(
        failed_sign_ins=0, locked_until=until
    )
    if locked:
        log.warning("console sign-in locked for %s: staff=%s", LOCKOUT, user.name)
        return SignIn(SignInOutcome.LOCKED, staff, locked_until=until)
    now_user = await StaffUser.get(id=user.id)
    return SignIn(SignInOutcome.WRONG, staff, failures=now_user.failed_sign_ins)


async def console_account(staff_id: int) -> ConsoleAccount | None:
    user = await StaffUser.get_or_none(id=staff_id)
    if user is None:
        return None
    return ConsoleAccount(
        staff=StaffIdentity(user.id, user.name, StaffRole(user.role)),
        active=user.active,
        password_stamp=password_stamp(user.password_hash),
    )


async def list_staff() -> list[StaffSummary]:
    users = await StaffUser.all().order_by("name")
    return [
        StaffSummary(
            id=u.id,
            name=u.name,
            role=StaffRole(u.role),
            active=u.active,
            has_password=u.password_hash is not None,
            locked_until=u.locked_until,
            last_seen_at=u.last_seen_at,
        )
        for u in users
    ]
