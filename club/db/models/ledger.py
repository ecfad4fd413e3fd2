"""The points ledger, earned lots, purchases with their items and returns, stores, check-ins.

The ledger is append-only: a row is never updated or deleted (an erased member keeps anonymous
rows). `(kind, ref)` is unique, which makes every movement idempotent. Times are business times
(the `now` a service was given), not insert times.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from club.db.models.members import Member

# Re-exported: the levels were defined here first (the migrations import them from here).
from club.rules.channels import ChannelLevel as ChannelLevel
from club.rules.channels import StoreStatus as StoreStatus
from club.rules.kinds import EntryKind


class LedgerEntry(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="ledger_entries", on_delete=fields.CASCADE
    )
    member_id: int
    kind = fields.CharEnumField(EntryKind, max_length=16)
    points = fields.BigIntField()
    """Signed: positive credits, negative debits."""
    balance_after = fields.BigIntField()
    debt_after = fields.BigIntField(default=0)
    reason = fields.CharField(max_length=200)
    ref = fields.CharField(max_length=128)
    actor_id = fields.BigIntField(null=True)
    """The staff account behind a manual movement."""
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_entry"
        unique_together = (("kind", "ref"),)
        # Points issued, redeemed and expired a day (the console's dashboard) from the index
        # alone: the ledger is append-only, so its pages are all-visible after autovacuum.
        indexes = (("member_id", "created_at"), ("created_at", "kind", "points"))


class PointsLot(Model):
    """Points earned together, valid until `expires_at` — spending and expiry reduce `remaining`."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="points_lots", on_delete=fields.CASCADE
    )
    entry: fields.ForeignKeyRelation[LedgerEntry] = fields.ForeignKeyField(
        "models.LedgerEntry", related_name="lots", on_delete=fields.CASCADE
    )
    member_id: int
    entry_id: int
    points = fields.BigIntField()
    remaining = fields.BigIntField()
    earned_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "points_lot"
        indexes = (("member_id", "remaining"), ("expires_at", "remaining"))


class PointsLotUse(Model):
    """Points one ledger movement took from one lot, or gave back to it (negative).

    A spend (redeem, a negative adjustment) and a return record the lots they took, in the same
    transaction. A refund (a cancelled redemption) gives the points back to those lots, so they
    keep the lot's own expiry, and records that with negative points against the refund's entry.
    Anonymous like the ledger: erasure keeps these rows.
    """

    id = fields.BigIntField(primary_key=True)
    entry: fields.ForeignKeyRelation[LedgerEntry] = fields.ForeignKeyField(
        "models.LedgerEntry", related_name="lot_uses", on_delete=fields.CASCADE
    )
    lot: fields.ForeignKeyRelation[PointsLot] = fields.ForeignKeyField(
        "models.PointsLot", related_name="uses", on_delete=fields.CASCADE
    )
    entry_id: int
    lot_id: int
    points = fields.BigIntField()
    """Taken from the lot (positive) or given back to it (negative)."""

    class Meta:
        table = "points_lot_use"
        unique_together = (("entry", "lot"),)


class Store(Model):
    """Where a purchase was made — customer-value reports compare stores within a channel level.

    A channel-level change is kept in `StoreLevelChange` (club.db.models.stores), so a report can
    ask which level a store was in on a given day. A closed store keeps its row and its history.
    """

    id = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=128)
    channel_level = fields.CharEnumField(ChannelLevel, max_length=16)
    region = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(StoreStatus, max_length=16, default=StoreStatus.OPEN)
    closed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(null=True)
    """NULL for stores recorded before stores were managed through the staff API."""
    qr_ticket = fields.CharField(max_length=255, null=True)
    """The ticket of the store's permanent QR code (`store_<id>`), once one was made."""
    qr_url = fields.CharField(max_length=255, null=True)
    """What the QR code holds (WeChat's `url`), for printing it at another size."""

    class Meta:
        table = "store"


class Purchase(Model):
    id = fields.BigIntField(primary_key=True)
    order_id = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="purchases", on_delete=fields.CASCADE
    )
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="purchases", null=True, on_delete=fields.SET_NULL
    )
    member_id: int
    store_id: str | None
    account_id = fields.BigIntField(null=True, db_index=True)
    """A group-purchase account the order was booked to (`club.db.models.accounts`)."""
    channel_level = fields.CharEnumField(ChannelLevel, max_length=16, null=True)
    """The store's level on the day of the sale (None: no store). Stores move between levels;
    a report for last year must use last year's level, so it is copied here, never joined."""
    amount_fen = fields.BigIntField()
    cost_fen = fields.BigIntField(null=True)
    """None when the till gave no cost for some line: reported as missing, never as zero."""
    points_earned = fields.BigIntField()
    returned_fen = fields.BigIntField(default=0)
    points_reversed = fields.BigIntField(default=0)
    # The answer given the first time, so a repeated order id gets the same one.
    balance_after = fields.BigIntField()
    tier_before = fields.CharField(max_length=32)
    tier_after = fields.CharField(max_length=32)
    actor_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "purchase"
        # created_at: the reports' periods; measured in bench/reports.py.
        indexes = (("member_id", "created_at"), ("store_id", "created_at"), ("created_at",))


class PurchaseItem(Model):
    id = fields.BigIntField(primary_key=True)
    purchase: fields.ForeignKeyRelation[Purchase] = fields.ForeignKeyField(
        "models.Purchase", related_name="items", on_delete=fields.CASCADE
    )
    sku = fields.CharField(max_length=64)
    qty = fields.IntField()
    amount_fen = fields.BigIntField()
    cost_fen = fields.BigIntField(null=True)

    class Meta:
        table = "purchase_item"


class PurchaseReturn(Model):
    """One return against a purchase — `ref` makes a retried return a no-op."""

    id = fields.BigIntField(primary_key=True)
    ref = fields.CharField(max_length=128, unique=True)
    purchase: fields.ForeignKeyRelation[Purchase] = fields.ForeignKeyField(
        "models.Purchase", related_name="returns", on_delete=fields.CASCADE
    )
    purchase_id: int
    amount_fen = fields.BigIntField()
    points_reversed = fields.BigIntField()
    returned_fen_total = fields.BigIntField()
    """The order's returned amount including this return."""
    balance_after = fields.BigIntField()
    debt_after = fields.BigIntField()
    actor_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "purchase_return"


class CheckIn(Model):
    """One row per member per local day — `streak` counts consecutive days ending that day."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="checkins", on_delete=fields.CASCADE
    )
    member_id: int
    day = fields.DateField()
    streak = fields.IntField()
    points = fields.IntField()
    bonus = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "checkin"
        unique_together = (("member", "day"),)
