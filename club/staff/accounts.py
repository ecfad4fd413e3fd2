"""Staff accounts, what each role may do, and the audit log.

Tokens: 32 random bytes (URL-safe text), shown once, stored as their SHA-256. A high-entropy
token needs no slow password hash; the stored hash is compared in constant time after the
indexed lookup so the comparison itself leaks nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from club.db.models.staff import AuditLog, StaffUser
from club.db.models.staff import StaffRole as StaffRole  # the API names roles by it

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
TOKEN_PREFIX = "cb_"  # noqa: S105 - a public prefix, not a secret
"""Makes a leaked token recognisable to secret scanners and people alike."""
SEEN_EVERY = timedelta(minutes=1)
NAME_RE = re.compile(r"^[\w.@-]{1,64}$")


class Permission(StrEnum):
    RECORD_PURCHASE = "record_purchase"
    RECORD_RETURN = "record_return"
    READ_MEMBER = "read_member"
    READ_LEDGER = "read_ledger"
    SEE_FULL_PHONE = "see_full_phone"
    ADJUST_POINTS = "adjust_points"
    SET_TIER_FLOOR = "set_tier_floor"
    ISSUE_CODES = "issue_codes"
    READ_REWARDS = "read_rewards"
    MANAGE_REWARDS = "manage_rewards"
    READ_DASHBOARD = "read_dashboard"
    """The club's figures on the console's dashboard (no personal data, but not a clerk's job)."""
    READ_PROGRAMME = "read_programme"
    """Tiers, festivals and message texts as the programme file sets them."""
    MANAGE_STAFF = "manage_staff"
    """List staff accounts and set their console passwords."""
    READ_STORES = "read_stores"
    MANAGE_STORES = "manage_stores"
    FULFIL_VOUCHERS = "fulfil_vouchers"
    CANCEL_REDEMPTIONS = "cancel_redemptions"
    READ_AUDIT = "read_audit"
    MEMBER_DATA_RIGHTS = "member_data_rights"
    REVIEW_MEMBERS = "review_members"
    MANAGE_SEGMENTS = "manage_segments"
    """Segments, their previews (masked samples) and member tags."""
    MANAGE_CAMPAIGNS = "manage_campaigns"
    """Create, test, schedule, send, pause, resume and cancel campaigns; read their figures."""
    APPROVE_CAMPAIGNS = "approve_campaigns"
    """Approve a campaign larger than the programme's threshold before it sends."""
    HANDLE_TICKETS = "handle_tickets"
    """Answer and close service tickets, record contacts with customers."""
    ASSIGN_MANAGERS = "assign_managers"
    """Give key customers a relationship manager, read any manager's list."""
    MANAGE_ACCOUNTS = "manage_accounts"
    """Open group-purchase accounts and add their contacts."""
    READ_REPORTS = "read_reports"
    """Customer value reports: who the key customers are, what they bring, who is leaving."""
    READ_JOBS = "read_jobs"
    """The scheduled jobs' runs: whether last night's greetings went out, what failed."""
    OWN_QR_CODE = "own_qr_code"
    """Make, see and print one's own QR code (`staff_<id>`: the members it brings are credited
    to its holder); another staff member's needs MANAGE_STAFF."""


_CLERK = frozenset(
    {
        Permission.RECORD_PURCHASE,
        Permission.RECORD_RETURN,
        Permission.READ_MEMBER,
        Permission.READ_LEDGER,
        Permission.READ_REWARDS,
        Permission.READ_STORES,
        Permission.FULFIL_VOUCHERS,
        Permission.HANDLE_TICKETS,
        Permission.OWN_QR_CODE,
    }
)
_MARKETER = _CLERK | {
    Permission.ADJUST_POINTS,
    Permission.SET_TIER_FLOOR,
    Permission.ISSUE_CODES,
    Permission.MANAGE_REWARDS,
    Permission.READ_DASHBOARD,
    Permission.READ_PROGRAMME,
    Permission.CANCEL_REDEMPTIONS,
    Permission.MANAGE_SEGMENTS,
    Permission.MANAGE_CAMPAIGNS,
    Permission.MANAGE_ACCOUNTS,
    Permission.ASSIGN_MANAGERS,
    Permission.READ_REPORTS,
    Permission.READ_JOBS,
}
ROLE_PERMISSIONS: Mapping[StaffRole, frozenset[Permission]] = {
    StaffRole.CLERK: _CLERK,
    StaffRole.MARKETER: _MARKETER,
    StaffRole.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class StaffIdentity:
    """Who is calling: what the staff API keeps of an authenticated account."""

    id: int
    name: str
    role: StaffRole


class StaffError(Exception):
    """A staff account cannot be created as asked; the message says why."""


def can(role: StaffRole | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(StaffRole(role), frozenset())


def acts_for(user: StaffIdentity, staff_id: int, anyone: Permission) -> bool:
    """Whether `user` may act on what belongs to staff member `staff_id` (their QR code, their
    key customers): their own always, another's only with the permission `anyone`."""
    return staff_id == user.id or can(user.role, anyone)


def may_get_qr_code_of(user: StaffIdentity, staff_id: int) -> bool:
    """A staff member's QR code (see it, have it made, print it): everyone their own, admins
    anyone's. The API's `staffQrCode` and the console's pages that read the kept code ask this."""
    return can(user.role, Permission.OWN_QR_CODE) and acts_for(
        user, staff_id, Permission.MANAGE_STAFF
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


async def create_staff(name: str, role: StaffRole | str, *, now: datetime) -> tuple[StaffUser, str]:
    """Create an account and return it with its token (the only time the token exists)."""
    if not NAME_RE.match(name):
        raise StaffError("a staff name is 1-64 letters, digits, '.', '@', '_' or '-'")
    try:
        staff_role = StaffRole(role)
    except ValueError:
        choices = ", ".join(r.value for r in StaffRole)
        raise StaffError(f"role must be one of {choices}") from None
    token = new_token()
    try:
        user = await StaffUser.create(
            name=name, role=staff_role, token_hash=hash_token(token), created_at=now
        )
    except IntegrityError:
        raise StaffError(f"a staff account named {name!r} already exists") from None
    log.info("staff account created: name=%s role=%s", name, staff_role.value)
    return user, token


class TokenExpired(Exception):
    """The token was valid but is older than the programme's `staff.token_days`."""


def token_expires_at(user: StaffUser, max_age: timedelta) -> datetime:
    return (user.token_issued_at or user.created_at) + max_age


async def authenticate(
    token: str, *, now: datetime | None = None, max_age: timedelta | None = None
) -> StaffIdentity | None:
    """The active account this bearer token belongs to, or None; TokenExpired past `max_age`.

    Read from the database on every request, never cached: a revoked or rotated token is refused
    on its very next use, by every worker.
    """
    # Our tokens are ASCII (`new_token`); anything else is refused before hashing, which failed
    # on the undecodable bytes a client may send (aiohttp keeps them as lone surrogates).
    if not token or len(token) > 256 or not token.isascii():
        return None
    digest = hash_token(token)
    user = await StaffUser.get_or_none(token_hash=digest, active=True)
    if user is None or not hmac.compare_digest(user.token_hash, digest):
        return None
    if max_age is not None and now is not None and now >= token_expires_at(user, max_age):
        raise TokenExpired(f"the token of {user.name!r} has expired")
    # At most one write a minute per account: a busy till must not queue on its own row.
    if now is not None and (user.last_seen_at is None or now - user.last_seen_at >= SEEN_EVERY):
        await StaffUser.filter(id=user.id).update(last_seen_at=now)
    return StaffIdentity(user.id, user.name, StaffRole(user.role))


async def deactivate(name: str) -> bool:
    """Revoke an account's token; its audit rows stay."""
    return await StaffUser.filter(name=name).update(active=False) > 0


async def record_audit(
    user: StaffIdentity | StaffUser,
    *,
    action: str,
    target: str | None,
    status: int,
    summary: Mapping[str, object],
    now: datetime,
    member_id: int | None = None,
) -> AuditLog:
    """Write one audit row. Callers pass a summary already free of secrets and whole phones."""
    if member_id is None and target is not None and target.startswith("member:"):
        number = target.removeprefix("member:")
        member_id = int(number) if number.isdigit() else None
    return await AuditLog.create(
        staff_id=user.id,
        staff_name=user.name,
        staff_role=str(user.role),
        action=action,
        target=target,
        member_id=member_id,
        status=status,
        summary=dict(summary),
        at=now,
    )
