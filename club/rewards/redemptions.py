"""Redemptions against the reward catalogue (the catalogue itself: `club.rewards.catalogue`).

A redemption takes points and stock in ONE transaction: the member row is locked (so the
per-member limit holds under concurrent requests), stock drops by a conditional update
(`stock >= 1`), and `points.debit` joins the same transaction; any refusal rolls all of it back.
Lock order is always member, then reward, in redeeming and cancelling alike, so the two cannot
deadlock. `request_ref` is unique: a repeated request returns the first redemption.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from club.codes.codegen import VOUCHER_BODY_LENGTH, format_code, random_code
from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member, MemberStatus
from club.points import ledger as points
from club.rewards.catalogue import (
    RewardRefConflict,
    RewardSpecError,
    RewardView,
    create_reward,
    list_catalogue,
    reward_view,
)
from club.rules import reasons
from club.rules.expiry import expires_at
from club.rules.kinds import EntryKind
from club.rules.programme import Programme, ProgrammeError, TierLadder

log = logging.getLogger(__name__)

__all__ = [
    "RedemptionRefused",
    "RedemptionView",
    "Refusal",
    "RewardOffer",
    "RewardRefConflict",
    "RewardSpecError",
    "RewardView",
    "cancel_redemption",
    "create_reward",
    "list_catalogue",
    "list_rewards",
    "redeem",
]


class Refusal(StrEnum):
    NOT_A_MEMBER = "not_a_member"
    REWARD_NOT_FOUND = "reward_not_found"
    UNAVAILABLE = "unavailable"
    """Disabled, or outside its active window."""
    TIER_TOO_LOW = "tier_too_low"
    OUT_OF_STOCK = "out_of_stock"
    MEMBER_LIMIT = "member_limit"
    NOT_ENOUGH_POINTS = "not_enough_points"
    REDEMPTION_NOT_FOUND = "redemption_not_found"
    CANCEL_WINDOW_CLOSED = "cancel_window_closed"
    BLOCKED = "blocked"
    """The club blocked the member after a review."""
    ALREADY_USED = "already_used"
    """The voucher was handed over at a store: nothing to cancel."""
    EXPIRED = "expired"
    """The voucher expired (its points went back or not, as the programme says)."""


class RedemptionRefused(Exception):
    """A redemption or cancellation that is not allowed; nothing was written."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(f"refused: {reason.value}")
        self.reason = reason


@dataclass(frozen=True)
class RewardOffer:
    """A reward as one member sees it: open to their tier, in stock, limit not reached."""

    reward: RewardView
    affordable: bool
    points_short: int
    redeemed: int
    """Redemptions this member holds of it (cancelled ones not counted)."""


@dataclass(frozen=True)
class RedemptionView:
    id: int
    member_id: int
    reward_id: int
    reward_name: str
    points: int
    voucher_code: str
    """Printed form (`ABCD-EFGH-JK`)."""
    status: RedemptionStatus
    created_at: datetime
    cancel_until: datetime
    cancelled_at: datetime | None
    balance: int
    """The member's balance after this redemption (or after its cancellation)."""
    expires_at: datetime | None = None
    """When the voucher stops being usable (None: never)."""


def _is_open(reward: Reward, now: datetime) -> bool:
    if not reward.enabled:
        return False
    if reward.active_from is not None and now < reward.active_from:
        return False
    return reward.active_until is None or now < reward.active_until


def _tier_allows(ladder: TierLadder, member_tier: str | None, min_tier: str | None) -> bool:
    if min_tier is None:
        return True
    try:
        return ladder.rank(member_tier) >= ladder.rank(min_tier)
    except ProgrammeError:
        # A tier no longer in the programme: closed rather than open to everyone.
        return False


async def _held(
    member_id: int, reward_ids: list[int], conn: BaseDBAsyncClient | None = None
) -> dict[int, int]:
    """Active (not cancelled) redemptions the member holds, per reward."""
    query = Redemption.filter(
        member_id=member_id, reward_id__in=reward_ids, status=RedemptionStatus.ACTIVE
    )
    held: dict[int, int] = {}
    for row in await (query.using_db(conn) if conn is not None else query):
        held[row.reward_id] = held.get(row.reward_id, 0) + 1
    return held


async def list_rewards(member_id: int, now: datetime, programme: Programme) -> list[RewardOffer]:
    """What this member can redeem now, cheapest first (tier-gated, in stock, within limits)."""
    member = await Member.get_or_none(id=member_id)
    if member is None or member.joined_at is None or member.status is MemberStatus.DELETED:
        return []
    rewards = [
        r
        for r in await Reward.filter(enabled=True).order_by("points_cost", "id")
        if _is_open(r, now)
        and _tier_allows(programme.tiers, member.tier, r.min_tier)
        and (r.stock is None or r.stock > 0)
    ]
    held = await _held(member_id, [r.id for r in rewards])
    offers = []
    for r in rewards:
        count = held.get(r.id, 0)
        if r.per_member_limit is not None and count >= r.per_member_limit:
            continue
        short = max(0, r.points_cost - member.points_balance)
        offers.append(RewardOffer(reward_view(r), short == 0, short, count))
    return offers


async def _view(redemption: Redemption, balance: int) -> RedemptionView:
    reward = await Reward.get(id=redemption.reward_id)
    return RedemptionView(
        redemption.id, redemption.member_id, redemption.reward_id, reward.name,
        redemption.points, format_code(redemption.voucher_code), redemption.status,
        redemption.created_at, redemption.cancel_until, redemption.cancelled_at, balance,
        redemption.expires_at,
    )  # fmt: skip


async def _balance_after(redemption: Redemption, conn: BaseDBAsyncClient | None = None) -> int:
    """The balance right after the debit, or after the cancellation: its REFUND row, or the
    EXPIRE row of the same ref that follows it when some of the points had expired since."""
    kinds = (
        [EntryKind.REFUND, EntryKind.EXPIRE]
        if redemption.status is RedemptionStatus.CANCELLED
        else [EntryKind.REDEEM]
    )
    query = LedgerEntry.filter(kind__in=kinds, ref=f"redemption:{redemption.id}")
    query = query.using_db(conn) if conn is not None else query
    entry = await query.order_by("-id").first()
    if entry is None:
        raise LookupError(f"redemption {redemption.id} has no ledger row")
    return int(entry.balance_after)


async def _recorded(redemption: Redemption) -> RedemptionView:
    """The answer given when it happened: the balance right after the debit (or the refund).

    A repeated request gets the same answer as the first, whatever happened since.
    """
    return await _view(redemption, await _balance_after(redemption))


async def redeem(
    member_id: int, reward_id: int, now: datetime, request_ref: str, programme: Programme
) -> RedemptionView:
    """Take the points and one item, issue a voucher; RedemptionRefused says why not.

    Idempotent on `request_ref` (the chat uses its message id, the API its request id).
    """
    first = await Redemption.get_or_none(request_ref=request_ref)
    if first is not None:
        return await _recorded(first)
    try:
        async with in_transaction() as conn:
            member = await Member.select_for_update().using_db(conn).get_or_none(id=member_id)
            if member is None or member.joined_at is None or member.status is MemberStatus.DELETED:
                raise RedemptionRefused(Refusal.NOT_A_MEMBER)
            if member.status is MemberStatus.BLOCKED:
                raise RedemptionRefused(Refusal.BLOCKED)
            reward = await Reward.filter(id=reward_id).using_db(conn).first()
            if reward is None:
                raise RedemptionRefused(Refusal.REWARD_NOT_FOUND)
            if not _is_open(reward, now):
                raise RedemptionRefused(Refusal.UNAVAILABLE)
            if not _tier_allows(programme.tiers, member.tier, reward.min_tier):
                raise RedemptionRefused(Refusal.TIER_TOO_LOW)
            if reward.per_member_limit is not None:
                held = (await _held(member_id, [reward.id], conn)).get(reward.id, 0)
                if held >= reward.per_member_limit:
                    raise RedemptionRefused(Refusal.MEMBER_LIMIT)
            if member.points_balance < reward.points_cost:
                raise RedemptionRefused(Refusal.NOT_ENOUGH_POINTS)
            if reward.stock is not None:
                taken = await (
                    Reward.filter(id=reward.id, stock__gte=1)
                    .using_db(conn)
                    .update(stock=F("stock") - 1)
                )
                if taken == 0:
                    raise RedemptionRefused(Refusal.OUT_OF_STOCK)
            redemption = await Redemption.create(
                member_id=member_id, reward_id=reward.id, points=reward.points_cost,
                voucher_code=random_code(VOUCHER_BODY_LENGTH), request_ref=request_ref,
                created_at=now, cancel_until=now + timedelta(hours=reward.cancel_window_hours),
                expires_at=voucher_expiry(now, programme), using_db=conn,
            )  # fmt: skip
            movement = await points.debit(
                member_id, reward.points_cost, kind=EntryKind.REDEEM,
                ref=f"redemption:{redemption.id}",
                reason=reasons.write("redeem", reward=reward.name), now=now, connection=conn,
            )  # fmt: skip
    except points.InsufficientPoints:
        raise RedemptionRefused(Refusal.NOT_ENOUGH_POINTS) from None
    except IntegrityError:
        # The same request_ref committed first by a concurrent call: answer as it did.
        first = await Redemption.get_or_none(request_ref=request_ref)
        if first is None:
            raise
        return await _recorded(first)
    log.info(
        "reward redeemed member=%d reward=%d redemption=%d", member_id, reward_id, redemption.id
    )
    return await _view(redemption, movement.balance_after)


def voucher_expiry(now: datetime, programme: Programme) -> datetime | None:
    """When a voucher redeemed now stops being usable (None: never)."""
    days = programme.vouchers.valid_days
    return now + timedelta(days=days) if days > 0 else None


_NOT_CANCELLABLE = {
    RedemptionStatus.USED: Refusal.ALREADY_USED,
    RedemptionStatus.EXPIRED: Refusal.EXPIRED,
}


async def cancel_redemption(
    redemption_id: int,
    now: datetime,
    programme: Programme,
    *,
    member_id: int | None = None,
    staff_id: int | None = None,
) -> RedemptionView:
    """Give the points and the item back, within the reward's cancel window.

    The points go back to the lots the redemption took them from and keep those lots' expiry
    (`points.refund`): redeeming and cancelling never makes points live longer. Points of a lot
    that has expired since are refunded and expired in the same movement (a REFUND row for the
    whole cost, an EXPIRE row with the same ref for the expired part), so the balance answered
    is what the member can still spend. Cancelling twice answers with the cancelled redemption.
    `member_id`, when given (the chat), must be the redemption's owner. `staff_id`, when given
    (the staff API), cancels outside the member's window too; a used or expired voucher is never
    cancelled.
    """
    found = await Redemption.get_or_none(id=redemption_id)
    if found is None or (member_id is not None and found.member_id != member_id):
        raise RedemptionRefused(Refusal.REDEMPTION_NOT_FOUND)
    owner_id = found.member_id
    async with in_transaction() as conn:
        await Member.select_for_update().using_db(conn).get(id=owner_id)
        redemption = await Redemption.filter(id=redemption_id).using_db(conn).get()
        if redemption.status is RedemptionStatus.CANCELLED:
            return await _recorded(redemption)
        if redemption.status in _NOT_CANCELLABLE:
            raise RedemptionRefused(_NOT_CANCELLABLE[redemption.status])
        if now > redemption.cancel_until and staff_id is None:
            raise RedemptionRefused(Refusal.CANCEL_WINDOW_CLOSED)
        changed = await (
            Redemption.filter(id=redemption_id, status=RedemptionStatus.ACTIVE)
            .using_db(conn)
            .update(status=RedemptionStatus.CANCELLED, cancelled_at=now, cancelled_by=staff_id)
        )
        if changed == 0:
            raise RedemptionRefused(Refusal.REDEMPTION_NOT_FOUND)
        reward = await Reward.filter(id=redemption.reward_id).using_db(conn).get()
        # A fresh expiry only for a redemption made before lot uses were recorded.
        await points.refund(
            owner_id, redemption.points, ref=f"redemption:{redemption_id}",
            reason=reasons.write("redeem_cancelled", reward=reward.name), now=now,
            expires_at=expires_at(now, programme.expiry), connection=conn,
        )  # fmt: skip
        if reward.stock is not None:
            await Reward.filter(id=reward.id).using_db(conn).update(stock=F("stock") + 1)
        redemption = await Redemption.filter(id=redemption_id).using_db(conn).get()
        balance = await _balance_after(redemption, conn)
    log.info("redemption cancelled redemption=%d member=%d", redemption_id, owner_id)
    return await _view(redemption, balance)
