"""Purchases at the counter for consumers who are not members yet, credited when they join.

A clerk records the purchase against the phone number the consumer gives. If a member already
has that number, it is an ordinary purchase of theirs. Otherwise it waits (`PendingPurchase`),
for the programme's `counter.pending_days`, and `credit_counter_purchases` turns it into an
ordinary purchase of the member who completes enrolment with that number, inside the enrolment's
transaction: the pending row's status changes once, by a conditional update, and the purchase is
idempotent on its order id, so the points are credited once whatever is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from club.db.models.counter import PendingPurchase, PendingStatus
from club.db.models.ledger import Purchase, Store
from club.db.models.members import Member
from club.members.enrolment import NOTHING, JoinCredit, OnJoin
from club.members.phone import mask_phone, validate_phone
from club.members.records import MemberRecord, members_by_phone
from club.messaging.outbox import Outbox
from club.rules import reasons
from club.rules.channels import StoreStatus
from club.rules.programme import Programme
from club.rules.standing import is_blocked
from club.sales import purchases
from club.sales.purchases import (
    ClosedStore,
    OrderConflict,
    PurchaseLine,
    PurchaseResult,
    UnknownStore,
)
from club.tiers.service import TierChange

log = logging.getLogger(__name__)


class PhoneShared(Exception):
    """Several members gave this phone number: record the purchase for one by member number."""

    def __init__(self, numbers: Sequence[int]) -> None:
        listed = ", ".join(f"{n:08d}" for n in numbers)
        super().__init__(f"several members have this phone number ({listed}): use member_id")
        self.member_ids = tuple(numbers)


@dataclass(frozen=True)
class CounterPurchase:
    order_id: str
    masked_phone: str
    amount_fen: int
    store_id: str | None
    status: PendingStatus
    created_at: datetime
    wait_until: datetime
    member_id: int | None
    points_credited: int | None
    purchase: PurchaseResult | None = None
    """Set when the phone was already a member's: the purchase was recorded for them at once."""


def _view(row: PendingPurchase) -> CounterPurchase:
    return CounterPurchase(
        row.order_id, mask_phone(row.phone), row.amount_fen, row.store_id,
        PendingStatus(row.status), row.created_at, row.expires_at, row.member_id,
        row.points_credited,
    )  # fmt: skip


def _same(row: PendingPurchase, phone: str, amount_fen: int) -> CounterPurchase:
    if row.phone != phone or row.amount_fen != amount_fen:
        raise OrderConflict(f"order {row.order_id!r} is already recorded with other data")
    return _view(row)


async def _member_with(phone: str) -> MemberRecord | None:
    members = [m for m in await members_by_phone(phone) if m.joined]
    if len(members) > 1:
        raise PhoneShared([m.id for m in members])
    return members[0] if members else None


async def record_counter_purchase(
    *,
    phone: str,
    order_id: str,
    amount_fen: int,
    now: datetime,
    programme: Programme,
    store_id: str | None = None,
    items: Sequence[PurchaseLine] = (),
    actor_id: int | None = None,
    outbox: Outbox | None = None,
) -> CounterPurchase:
    """Record a purchase against a phone number: a member's at once, else kept waiting.

    InvalidPhone for a number that is not a mainland mobile; the same order id again answers
    the first recording (OrderConflict when it differs). A member's purchase that lifts their
    tier is announced through `outbox`, as any purchase.
    """
    number = validate_phone(phone)
    member = await _member_with(number)
    if member is not None:
        result = await purchases.record_purchase(
            order_id=order_id, amount_fen=amount_fen, now=now, programme=programme,
            member_id=member.id, store_id=store_id, items=items, actor_id=actor_id, outbox=outbox,
        )  # fmt: skip
        return CounterPurchase(
            order_id, mask_phone(number), amount_fen, store_id, PendingStatus.CREDITED, now, now,
            member.id, result.points_earned, result,
        )  # fmt: skip
    purchases.validate_purchase(order_id, amount_fen, items)
    programme.limits.check_purchase(amount_fen)  # AboveLimit, as for any purchase
    waiting = await PendingPurchase.get_or_none(order_id=order_id)
    if waiting is not None:
        return _same(waiting, number, amount_fen)
    if await Purchase.filter(order_id=order_id).exists():
        raise OrderConflict(f"order {order_id!r} is already recorded for a member")
    if store_id is not None:
        store = await Store.get_or_none(id=store_id)
        if store is None:
            raise UnknownStore(f"no store with id {store_id!r}")
        if store.status == StoreStatus.CLOSED:
            raise ClosedStore(f"store {store_id!r} is closed")
    cost = sum(i.cost_fen or 0 for i in items) if items and all(i.cost_fen for i in items) else None
    try:
        row = await PendingPurchase.create(
            order_id=order_id, phone=number, amount_fen=amount_fen, cost_fen=cost,
            store_id=store_id, items=[asdict(i) for i in items], actor_id=actor_id,
            created_at=now, expires_at=now + timedelta(days=programme.counter.pending_days),
        )  # fmt: skip
    except IntegrityError:
        first = await PendingPurchase.get_or_none(order_id=order_id)
        if first is None:
            raise
        return _same(first, number, amount_fen)
    log.info("counter purchase waiting order=%s phone=%s", order_id, mask_phone(number))
    return _view(row)


async def counter_purchases(phone: str) -> list[CounterPurchase]:
    """The purchases recorded against a phone number, newest first (InvalidPhone if it is not)."""
    rows = await PendingPurchase.filter(phone=validate_phone(phone)).order_by("-created_at", "-id")
    return [_view(r) for r in rows]


async def credit_counter_purchases(
    member_id: int, phone: str, now: datetime, programme: Programme
) -> JoinCredit:
    """Credit the waiting purchases of this phone to the member who just joined with it.

    Call it inside the enrolment's transaction (it uses the ambient one): a pending row becomes
    `credited` by one conditional update and its purchase is recorded under its own order id, so
    nothing is credited twice. Purchases older than `pending_days` have lapsed and stay as they are.
    """
    member = await Member.get_or_none(id=member_id)
    if member is None or is_blocked(member.status):
        return NOTHING  # a blocked member earns nothing; the purchases wait (or lapse)
    rows = await PendingPurchase.filter(
        phone=phone, status=PendingStatus.PENDING, expires_at__gt=now
    ).order_by("created_at", "id")
    count = points = 0
    upgrade: TierChange | None = None
    for row in rows:
        claimed = await PendingPurchase.filter(id=row.id, status=PendingStatus.PENDING).update(
            status=PendingStatus.CREDITED, member_id=member_id, credited_at=now
        )
        if not claimed:
            continue
        try:
            result = await purchases.record_purchase(
                order_id=row.order_id, amount_fen=row.amount_fen, now=now, programme=programme,
                member_id=member_id, store_id=row.store_id, items=_lines(row),
                cost_fen=row.cost_fen, actor_id=row.actor_id,
                reason=reasons.write("counter", order=row.order_id), closed_store_ok=True,
            )  # fmt: skip
        except (OrderConflict, UnknownStore):
            # Recorded for someone else meanwhile, or the store was deleted: staff decide.
            log.warning("counter purchase not credited order=%s", row.order_id)
            await PendingPurchase.filter(id=row.id).update(
                status=PendingStatus.CONFLICT, member_id=None, credited_at=None
            )
            continue
        await PendingPurchase.filter(id=row.id).update(points_credited=result.points_earned)
        count += 1
        points += result.points_earned
        upgrade = result.upgrade or upgrade
    if count:
        log.info("counter purchases credited member=%d n=%d points=%d", member_id, count, points)
    return JoinCredit(count, points, upgrade)


def _lines(row: PendingPurchase) -> list[PurchaseLine]:
    return [
        PurchaseLine(str(i["sku"]), int(i["qty"]), int(i["amount_fen"]), i.get("cost_fen"))
        for i in row.items or ()
    ]


async def lapse_counter_purchases(now: datetime) -> int:
    """Mark the purchases nobody joined for in time as lapsed and erase their phone numbers; how
    many. Idempotent (a daily job runs it): a lapsed row is never touched again."""
    lapsed = await PendingPurchase.filter(status=PendingStatus.PENDING, expires_at__lte=now).update(
        status=PendingStatus.LAPSED, phone=""
    )
    if lapsed:
        log.info("counter purchases lapsed: %d", lapsed)
    return lapsed


def credit_on_join(programme: Programme) -> OnJoin:
    """The enrolment's `on_join`: credit what waited for the new member's phone."""

    async def credit(member_id: int, phone: str, now: datetime) -> JoinCredit:
        return await credit_counter_purchases(member_id, phone, now, programme)

    return credit
