"""Staff accounts and the audit log of everything they do through the staff API.

A token is shown once when the account is created and only its SHA-256 is stored: the token is
32 random bytes, so a plain (unsalted) hash is enough to make a leaked table useless, and the
lookup stays one indexed equality.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class StaffRole(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    CLERK = "clerk"


class StaffUser(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(StaffRole, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    """Hex SHA-256 of the bearer token — the token itself is never stored."""
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    token_issued_at = fields.DatetimeField(null=True)
    """When the current token was made (NULL: at `created_at`); it expires the programme's
    `staff.token_days` later."""
    revoked_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    """The current token's last use, written at most once a minute."""
    # Signing in to the staff console (the API keeps its bearer token).
    password_hash = fields.CharField(max_length=255, null=True)
    """argon2id hash of the console password; NULL: no console sign-in until one is set."""
    password_changed_at = fields.DatetimeField(null=True)
    """Console sessions opened before this are no longer valid (a new password revokes them)."""
    failed_sign_ins = fields.SmallIntField(default=0)
    """Wrong passwords in a row; reset by a good one and when a lock-out starts."""
    locked_until = fields.DatetimeField(null=True)
    qr_ticket = fields.CharField(max_length=255, null=True)
    """The ticket of the staff member's permanent QR code (`staff_<id>`), once one was made."""
    qr_url = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "staff_user"

    def __str__(self) -> str:
        return f"staff {self.name} ({self.role})"


class AuditLog(Model):
    """One row per staff action: who, what, on which target, when, and a summary of the request.

    The staff name and role are copied in, so the log still reads correctly after an account is
    renamed or removed. The summary never holds a token or a whole phone number.
    """

    id = fields.BigIntField(primary_key=True)
    staff_id = fields.BigIntField(db_index=True)
    staff_name = fields.CharField(max_length=64)
    staff_role = fields.CharField(max_length=16)
    action = fields.CharField(max_length=64)
    """A stable verb, e.g. `purchase.record`, `member.read`, `points.adjust`."""
    target = fields.CharField(max_length=128, null=True)
    """What was acted on, e.g. `member:12`, `order:A-1001`, `reward:3`."""
    member_id = fields.BigIntField(null=True, db_index=True)
    """The member whose data the action touched, when there is one: the log is read by member."""
    status = fields.SmallIntField()
    """The HTTP status of the answer: refused and failed attempts are recorded too."""
    summary: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "audit_log"
