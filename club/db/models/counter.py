"""Purchases recorded at the counter for a consumer who is not a member yet.

The purchase waits against the phone number the consumer gave; when that phone completes
enrolment in chat (within the programme's `counter.pending_days`), it becomes an ordinary purchase
of the new member, once. Its order id is the purchase's order id: it can be recorded only once,
pending or not.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from club.db.models.ledger import Store
from club.db.models.members import Member


class PendingStatus(StrEnum):
    PENDING = "pending"
    CREDITED = "credited"
    CONFLICT = "conflict"
    """Its order id was recorded for someone else meanwhile: not credited (staff resolve it)."""
    LAPSED = "lapsed"
    """Nobody joined with the phone in time; the phone number is erased from the row."""


class PendingPurchase(Model):
    id = fields.BigIntField(primary_key=True)
    order_id = fields.CharField(max_length=64, unique=True)
    phone = fields.CharField(max_length=16, db_index=True)
    """The 11-digit mobile number the consumer gave; blanked when the purchase lapses (a
    non-member's number is kept only as long as it can serve them)."""
    amount_fen = fields.BigIntField()
    cost_fen = fields.BigIntField(null=True)
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="pending_purchases", null=True, on_delete=fields.SET_NULL
    )
    store_id: str | None
    items: Any = fields.JSONField(default=list)
    """[{"sku", "qty", "amount_fen", "cost_fen"}], as the till sent them."""
    actor_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    status = fields.CharEnumField(PendingStatus, max_length=16, default=PendingStatus.PENDING)
    member: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="pending_purchases", null=True, on_delete=fields.SET_NULL
    )
    member_id: int | None
    credited_at = fields.DatetimeField(null=True)
    points_credited = fields.BigIntField(null=True)

    class Meta:
        table = "pending_purchase"
