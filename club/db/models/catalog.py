"""Bottle codes and the reward catalogue.

Uniqueness in the database is what makes these effects happen once: a code row is claimed by one
conditional update (`used_by IS NULL`), a redemption is unique on the caller's request reference,
a voucher code is unique. Stock changes only by conditional updates (`stock >= 1`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from club.db.models.members import Member


class CodeBatch(Model):
    """One print run of bottle codes — the name makes a repeated staff request harmless."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    points = fields.IntField()
    count = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "code_batch"


class BottleCode(Model):
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    """Normalised (upper case, no separators), check character included."""
    batch: fields.ForeignKeyRelation[CodeBatch] = fields.ForeignKeyField(
        "models.CodeBatch", related_name="codes", on_delete=fields.CASCADE
    )
    points = fields.IntField()
    used_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="bottle_codes", null=True, on_delete=fields.CASCADE
    )
    used_at = fields.DatetimeField(null=True)
    batch_id: int
    used_by_id: int | None

    class Meta:
        table = "bottle_code"
        # The hourly/daily limit counts a member's codes by time.
        indexes = (("used_by_id", "used_at"),)


class FailedCodeAttempt(Model):
    """A code a member sent that earned nothing: never issued, mistyped, or someone else's.

    Counted per member over the last hour and the club day, so guessing codes meets a limit.
    Rows older than two days no longer count: the daily expire-points job deletes them for every
    member (`club.codes.bottle.prune_failed_attempts`).
    """

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="failed_code_attempts", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField(db_index=True)
    outcome = fields.CharField(max_length=16)
    """unknown, mistyped or used_by_other"""
    member_id: int

    class Meta:
        table = "failed_code_attempt"
        indexes = (("member_id", "at"),)


class Reward(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    description = fields.CharField(max_length=255, default="")
    points_cost = fields.IntField()
    stock = fields.IntField(null=True)
    """Items left — NULL means not limited. Changed only by conditional updates."""
    min_tier = fields.CharField(max_length=32, null=True)
    """Lowest tier code allowed to redeem — NULL: every member."""
    per_member_limit = fields.IntField(null=True)
    """Redemptions a member may hold (cancelled ones do not count) — NULL: no limit."""
    active_from = fields.DatetimeField(null=True)
    active_until = fields.DatetimeField(null=True)
    cancel_window_hours = fields.IntField(default=24)
    enabled = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    ref = fields.CharField(max_length=128, null=True, unique=True)
    """The creator's idempotency key — the same key again returns this reward."""
    request_digest = fields.CharField(max_length=64, null=True)
    """SHA-256 of the creating request when it had a ref — tells a retry from another request."""

    class Meta:
        table = "reward"


class RedemptionStatus(StrEnum):
    ACTIVE = "active"
    """The voucher can be used at a store."""
    CANCELLED = "cancelled"
    USED = "used"
    """Handed over at a store: `used_at`, `used_store`."""
    EXPIRED = "expired"
    """Not used in time; its points went back or not as the programme said."""


class Redemption(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="redemptions", on_delete=fields.CASCADE
    )
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="redemptions", on_delete=fields.CASCADE
    )
    points = fields.IntField()
    """The cost at the time of redemption: a later price change does not alter the refund."""
    voucher_code = fields.CharField(max_length=16, unique=True)
    request_ref = fields.CharField(max_length=128, unique=True)
    """The caller's idempotency key: a repeated request returns this row."""
    status = fields.CharEnumField(RedemptionStatus, max_length=16, default=RedemptionStatus.ACTIVE)
    created_at = fields.DatetimeField()
    cancel_until = fields.DatetimeField()
    cancelled_at = fields.DatetimeField(null=True)
    cancelled_by = fields.BigIntField(null=True)
    """The staff account that cancelled it (NULL: the member, in chat)."""
    expires_at = fields.DatetimeField(null=True)
    """The voucher must be used before this (the programme's `vouchers.valid_days`); NULL: never."""
    expired_at = fields.DatetimeField(null=True)
    used_at = fields.DatetimeField(null=True)
    used_store_id = fields.CharField(max_length=32, null=True)
    """The store id the voucher was used at, as the clerk gave it (no foreign key: the record of
    where it happened stays even if the store row goes)."""
    used_by = fields.BigIntField(null=True)
    """The staff account that marked it used."""
    member_id: int
    reward_id: int

    class Meta:
        table = "redemption"
        indexes = (("member_id", "reward_id", "status"), ("status", "expires_at"))
