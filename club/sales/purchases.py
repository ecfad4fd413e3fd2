"""Purchases and returns recorded by staff: points, qualifying spend, tier upgrades.

A purchase is idempotent on its order id (the same order again gets the same answer and earns
nothing), a return on its return ref. Both run in one transaction with the ledger movement.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from club.db.models.ledger import (
    ChannelLevel,
    LedgerEntry,
    Purchase,
    PurchaseItem,
    PurchaseReturn,
    Store,
)
from club.db.models.members import Member
from club.db.openids import with_openid
from club.db.tx import transaction
from club.messaging import announcements
from club.messaging.announcements import PointsChange
from club.messaging.keys import outbox_key
from club.messaging.outbox import Outbox
from club.points import ledger as points
from club.points.caps import capped_credit
from club.points.ops import LedgerError, UnknownMember, lock_member
from club.rules import reasons
from club.rules.channels import StoreStatus
from club.rules.earning import proportional_reversal, purchase_points
from club.rules.expiry import expires_at
from club.rules.kinds import EntryKind
from club.rules.programme import Programme
from club.rules.standing import MemberBlocked, is_blocked
from club.tiers.service import TierChange, TierReason, upgrade_if_due
from club.value.accounts import check_booking

log = logging.getLogger(__name__)


class PurchaseError(LedgerError, ValueError):
    """Bad purchase or return data; nothing was recorded."""


class OrderConflict(PurchaseError):
    """The order id is already recorded with another member or amount."""


class UnknownOrder(PurchaseError):
    pass


class UnknownStore(PurchaseError):
    pass


class ClosedStore(PurchaseError):
    """The store is closed: no new purchase is recorded there."""


class ReturnExceedsPurchase(PurchaseError):
    pass


@dataclass(frozen=True)
class PurchaseLine:
    sku: str
    qty: int
    amount_fen: int
    cost_fen: int | None = None


@dataclass(frozen=True)
class PurchaseResult:
    member_id: int
    order_id: str
    points_earned: int
    balance: int
    tier: str
    upgrade: TierChange | None
    """Set when this purchase lifted the member's tier (repeats carry it too)."""
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class ReturnResult:
    order_id: str
    ref: str
    member_id: int
    amount_fen: int
    points_reversed: int
    returned_fen_total: int
    balance: int
    debt: int
    replayed: bool = field(default=False, compare=False)


def validate_purchase(order_id: str, amount_fen: int, items: Sequence[PurchaseLine]) -> None:
    """PurchaseError naming what is wrong with an order's data (nothing is read or written)."""
    if not order_id.strip() or len(order_id) > 64:
        raise PurchaseError("order_id must be 1..64 characters")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise PurchaseError("amount_fen must be a positive integer (fen)")
    for i, item in enumerate(items):
        if not item.sku.strip() or len(item.sku) > 64:
            raise PurchaseError(f"items[{i}].sku must be 1..64 characters")
        if item.qty <= 0:
            raise PurchaseError(f"items[{i}].qty must be positive")
        if item.amount_fen < 0 or (item.cost_fen is not None and item.cost_fen < 0):
            raise PurchaseError(f"items[{i}]: amounts must not be negative")
    if items and sum(item.amount_fen for item in items) != amount_fen:
        raise PurchaseError("the items' amount_fen do not add up to the order's amount_fen")


def _result(purchase: Purchase, replayed: bool) -> PurchaseResult:
    upgrade = None
    if purchase.tier_after != purchase.tier_before:
        upgrade = TierChange(
            purchase.member_id,
            purchase.tier_before,
            purchase.tier_after,
            purchase.created_at,
            TierReason.PURCHASE,
            True,
        )
    return PurchaseResult(
        member_id=purchase.member_id,
        order_id=purchase.order_id,
        points_earned=purchase.points_earned,
        balance=purchase.balance_after,
        tier=purchase.tier_after,
        upgrade=upgrade,
        replayed=replayed,
    )


def _same_order(purchase: Purchase, member_id: int, amount_fen: int) -> PurchaseResult:
    if purchase.member_id != member_id or purchase.amount_fen != amount_fen:
        raise OrderConflict(f"order {purchase.order_id!r} is already recorded with other data")
    return _result(purchase, replayed=True)


async def _member_id(member_id: int | None, openid: str | None) -> int:
    if (member_id is None) == (openid is None):
        raise PurchaseError("give exactly one of member_id and openid")
    if member_id is not None:
        if not await Member.filter(id=member_id).exists():
            raise UnknownMember(member_id)
        return member_id
    found = None if openid is None else await with_openid(openid).first()
    if found is None:
        raise PurchaseError(f"no member with openid {openid!r}")
    return int(found.id)


async def record_purchase(
    *,
    order_id: str,
    amount_fen: int,
    now: datetime,
    programme: Programme,
    member_id: int | None = None,
    openid: str | None = None,
    store_id: str | None = None,
    items: Sequence[PurchaseLine] = (),
    cost_fen: int | None = None,
    actor_id: int | None = None,
    outbox: Outbox | None = None,
    reason: str | None = None,
    closed_store_ok: bool = False,
    account_id: int | None = None,
) -> PurchaseResult:
    """Record a purchase once: points at the member's tier multiplier, upgrade if due.

    The member is told through `outbox` (the points earned and the balance, and the new tier
    when the purchase lifted it, in one message) in the purchase's transaction: the purchase and
    its message are kept together or not at all, and the message reaches the senders when the
    transaction commits. The message is keyed by the order: a repeat tells nobody twice.
    `reason` replaces the ledger's `购买 <order>`; `closed_store_ok` records a purchase made
    before its store closed (a counter purchase credited when the buyer joins). `account_id`
    books the order to a group-purchase account the member is a contact of."""
    validate_purchase(order_id, amount_fen, items)
    programme.limits.check_purchase(amount_fen)  # AboveLimit: nothing recorded
    member = await _member_id(member_id, openid)
    if account_id is not None:
        await check_booking(account_id, member)
    if cost_fen is None and items and all(i.cost_fen is not None for i in items):
        cost_fen = sum(i.cost_fen or 0 for i in items)
    existing = await Purchase.filter(order_id=order_id).first()
    if existing is not None:
        return _same_order(existing, member, amount_fen)
    level: ChannelLevel | None = None
    """The store's level today, kept on the purchase: reports of this day use it forever."""
    if store_id is not None:
        store = await Store.filter(id=store_id).first()
        if store is None:
            raise UnknownStore(f"no store with id {store_id!r}")
        if store.status == StoreStatus.CLOSED and not closed_store_ok:
            raise ClosedStore(f"store {store_id!r} is closed")
        level = ChannelLevel(store.channel_level)
    try:
        async with transaction() as conn:
            # The member lock serialises this member's purchases, so the repeat of an order
            # waits here and then finds it below, and the qualifying spend counts every
            # earlier purchase.
            standing = await lock_member(conn, member)
            again = await Purchase.filter(order_id=order_id).using_db(conn).first()
            if again is not None:
                return _same_order(again, member, amount_fen)
            rows = await Member.filter(id=member).using_db(conn).values_list("tier", "status")
            if is_blocked(rows[0][1]):
                raise MemberBlocked(member)
            tier_before = programme.tiers.get(rows[0][0])
            earned = purchase_points(amount_fen, programme.earning, tier_before.earn_multiplier)
            capped = await capped_credit(
                member, earned, programme.earning_caps, now, conn, order=True
            )
            earned = capped.points
            balance = standing.balance
            if earned > 0:
                movement = await points.credit(
                    member,
                    earned,
                    kind=EntryKind.EARN,
                    ref=f"order:{order_id}",
                    reason=capped.reason(reason or reasons.write("purchase", order=order_id)),
                    now=now,
                    expires_at=expires_at(now, programme.expiry),
                    connection=conn,
                    actor_id=actor_id,
                )
                balance = movement.balance_after
            purchase = await Purchase.create(
                using_db=conn,
                order_id=order_id,
                member_id=member,
                store_id=store_id,
                account_id=account_id,
                channel_level=level,
                amount_fen=amount_fen,
                cost_fen=cost_fen,
                points_earned=earned,
                balance_after=balance,
                tier_before=tier_before.code,
                tier_after=tier_before.code,
                actor_id=actor_id,
                created_at=now,
            )
            change = await upgrade_if_due(member, now, programme, connection=conn)
            if change is not None:
                purchase.tier_after = change.to_tier
                await purchase.save(using_db=conn, update_fields=["tier_after"])
            if outbox is not None and (earned > 0 or change is not None):
                told = PointsChange(earned, balance, amount_fen=amount_fen, order=order_id)
                upgraded = change.to_tier if change is not None else None
                await outbox.tell(
                    announcements.purchase(programme, told, upgraded, now),
                    key=outbox_key("purchase", member, order_id),
                    now=now,
                    member_id=member,
                )
            if items:
                await PurchaseItem.bulk_create(
                    [
                        PurchaseItem(
                            purchase_id=purchase.id,
                            sku=i.sku,
                            qty=i.qty,
                            amount_fen=i.amount_fen,
                            cost_fen=i.cost_fen,
                        )
                        for i in items
                    ],
                    using_db=conn,
                )
    except IntegrityError:
        first = await Purchase.filter(order_id=order_id).first()
        if first is None:
            raise
        return _same_order(first, member, amount_fen)
    log.info("purchase order=%s member=%s points=%s", order_id, member, earned)
    return _result(purchase, replayed=False)


def _same_return(ret: ReturnResult, order_id: str, amount_fen: int) -> ReturnResult:
    if ret.order_id != order_id or ret.amount_fen != amount_fen:
        raise OrderConflict(f"return {ret.ref!r} is already recorded with other data")
    return ret


async def _stored_return(ref: str, conn: BaseDBAsyncClient | None = None) -> ReturnResult | None:
    query = PurchaseReturn.filter(ref=ref).select_related("purchase")
    row = await (query.using_db(conn) if conn is not None else query).first()
    if row is None:
        return None
    return ReturnResult(
        order_id=row.purchase.order_id,
        ref=row.ref,
        member_id=row.purchase.member_id,
        amount_fen=row.amount_fen,
        points_reversed=row.points_reversed,
        returned_fen_total=row.returned_fen_total,
        balance=row.balance_after,
        debt=row.debt_after,
        replayed=True,
    )


async def record_return(
    order_id: str,
    amount_fen: int,
    *,
    now: datetime,
    ref: str | None = None,
    actor_id: int | None = None,
    programme: Programme | None = None,
    outbox: Outbox | None = None,
) -> ReturnResult:
    """Reverse points in proportion to the refunded amount; the shortfall becomes debt.

    `ref` identifies the return (the POS return id). Without one, the same order and amount
    again is taken as a retry of the same return, never as a second return. Points taken back
    are told to the member through `outbox` (with `programme`), in the return's transaction.
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise PurchaseError("amount_fen must be a positive integer (fen)")
    key = ref if ref else f"{order_id}:{amount_fen}"
    if len(key) > 120:
        raise PurchaseError("the return ref must be at most 120 characters")
    stored = await _stored_return(key)
    if stored is not None:
        return _same_return(stored, order_id, amount_fen)
    try:
        async with transaction() as conn:
            purchase = (
                await Purchase.filter(order_id=order_id).using_db(conn).select_for_update().first()
            )
            if purchase is None:
                raise UnknownOrder(f"no purchase with order id {order_id!r}")
            stored = await _stored_return(key, conn)
            if stored is not None:
                return _same_return(stored, order_id, amount_fen)
            returned = purchase.returned_fen + amount_fen
            if returned > purchase.amount_fen:
                left = purchase.amount_fen - purchase.returned_fen
                raise ReturnExceedsPurchase(
                    f"order {order_id!r}: {amount_fen} fen returned but only {left} fen are left"
                )
            total = proportional_reversal(purchase.points_earned, purchase.amount_fen, returned)
            reversed_now = total - purchase.points_reversed
            updated = (
                await Purchase.filter(id=purchase.id, returned_fen=purchase.returned_fen)
                .using_db(conn)
                .update(returned_fen=returned, points_reversed=total)
            )
            if updated != 1:
                raise LedgerError(f"order {order_id!r} changed during the return; retry")
            if reversed_now > 0:
                earn = (
                    await LedgerEntry.filter(kind=EntryKind.EARN, ref=f"order:{order_id}")
                    .using_db(conn)
                    .first()
                )
                movement = await points.reverse(
                    purchase.member_id,
                    reversed_now,
                    ref=f"return:{key}",
                    reason=reasons.write("return", order=order_id),
                    now=now,
                    prefer_entry=earn.id if earn else None,
                    connection=conn,
                    actor_id=actor_id,
                )
                balance, debt = movement.balance_after, movement.debt_after
                if outbox is not None and programme is not None:
                    change = PointsChange(reversed_now, balance, amount_fen, order_id)
                    await outbox.tell(
                        announcements.points_reversed(programme, change, now),
                        key=outbox_key("return", key),
                        now=now,
                        member_id=purchase.member_id,
                    )
            else:
                standing = await lock_member(conn, purchase.member_id)
                balance, debt = standing.balance, standing.debt
            await PurchaseReturn.create(
                using_db=conn,
                ref=key,
                purchase_id=purchase.id,
                amount_fen=amount_fen,
                points_reversed=reversed_now,
                returned_fen_total=returned,
                balance_after=balance,
                debt_after=debt,
                actor_id=actor_id,
                created_at=now,
            )
    except IntegrityError:
        stored = await _stored_return(key)
        if stored is None:
            raise
        return _same_return(stored, order_id, amount_fen)
    log.info("return order=%s amount=%s points=%s", order_id, amount_fen, reversed_now)
    return ReturnResult(
        order_id, key, purchase.member_id, amount_fen, reversed_now, returned, balance, debt
    )


async def upsert_store(
    store_id: str, name: str, channel_level: ChannelLevel, region: str | None = None
) -> Store:
    """Create or update a store (its channel level decides the report it counts in)."""
    if not store_id.strip() or len(store_id) > 32:
        raise PurchaseError("store id must be 1..32 characters")
    store, _created = await Store.update_or_create(
        id=store_id, defaults={"name": name, "channel_level": channel_level, "region": region}
    )
    return store
