"""Tier service: qualifying spend, upgrade at once, the monthly review, the staff floor.

A purchase that crosses a threshold upgrades in its own transaction (the caller turns the
returned `TierChange` into a congratulation). Downgrades happen only in `review_tier`, one step
at most and never below the floor a member of staff set.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.db.tx import transaction
from club.messaging import announcements
from club.messaging.keys import outbox_key
from club.messaging.outbox import Outbox, count_plan
from club.points.ops import UnknownMember, lock_member
from club.rules.programme import Programme, Tier
from club.rules.tiers import months_back, review_target, spend_to_next, upgrade_target

log = logging.getLogger(__name__)


class TierReason(StrEnum):
    PURCHASE = "purchase"
    REVIEW = "review"
    STAFF = "staff"


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_tier: str
    to_tier: str
    at: datetime
    reason: TierReason
    upgrade: bool


@dataclass(frozen=True)
class FloorChange:
    """What setting a floor did, every value read in its transaction (the audit keeps them)."""

    member_id: int
    floor_before: str | None
    floor_after: str | None
    tier_before: str
    tier_after: str
    lift: TierChange | None
    """The member was below the new floor and lifted to it."""

    @property
    def changed(self) -> bool:
        return self.floor_before != self.floor_after or self.lift is not None


@dataclass(frozen=True)
class TierStatus:
    member_id: int
    tier: Tier
    floor: str | None
    spend_fen: int
    """Qualifying spend over the review period (purchases less returns)."""
    next_tier: Tier | None
    spend_to_next_fen: int | None


async def qualifying_spend(
    member_id: int, now: datetime, months: int = 12, connection: BaseDBAsyncClient | None = None
) -> int:
    """Purchases less returns in the `months` months up to `now`. Orders booked to a group
    account are the organisation's (they count for the account's tier), not the member's."""
    query = Purchase.filter(
        member_id=member_id,
        account_id=None,
        created_at__gt=months_back(now, months),
        created_at__lte=now,
    )
    if connection is not None:
        query = query.using_db(connection)
    rows = await query.annotate(bought=Sum("amount_fen"), back=Sum("returned_fen")).values(
        "bought", "back"
    )
    if not rows:
        return 0
    return int(rows[0]["bought"] or 0) - int(rows[0]["back"] or 0)


async def _tiers_of(conn: BaseDBAsyncClient, member_id: int) -> tuple[str | None, str | None]:
    rows = await Member.filter(id=member_id).using_db(conn).values_list("tier", "tier_floor")
    if not rows:
        raise UnknownMember(member_id)
    return rows[0][0], rows[0][1]


async def _move(
    conn: BaseDBAsyncClient,
    member_id: int,
    current: str | None,
    to: Tier,
    now: datetime,
    reason: TierReason,
    programme: Programme,
) -> TierChange:
    query = Member.filter(id=member_id).using_db(conn)
    query = query.filter(tier__isnull=True) if current is None else query.filter(tier=current)
    changed = await query.update(tier=to.code, tier_since=now)
    if changed != 1:
        raise RuntimeError(f"member {member_id}'s tier changed during the update")
    ladder = programme.tiers
    from_code = ladder.get(current).code
    up = ladder.rank(to.code) > ladder.rank(current)
    log.info("tier %s member=%s %s -> %s", reason, member_id, from_code, to.code)
    return TierChange(member_id, from_code, to.code, now, reason, up)


async def upgrade_if_due(
    member_id: int, now: datetime, programme: Programme, *, connection: BaseDBAsyncClient
) -> TierChange | None:
    """Inside the caller's transaction, after the member row is locked (a purchase)."""
    current, _floor = await _tiers_of(connection, member_id)
    spend = await qualifying_spend(member_id, now, programme.tier_review.months, connection)
    target = upgrade_target(programme.tiers, current, spend)
    if target is None:
        return None
    return await _move(connection, member_id, current, target, now, TierReason.PURCHASE, programme)


async def review_tier(member_id: int, now: datetime, programme: Programme) -> TierChange | None:
    """The periodic review: up to what the spend reaches, down one step at most, floor kept."""
    async with in_transaction() as conn:
        await lock_member(conn, member_id)
        current, floor = await _tiers_of(conn, member_id)
        spend = await qualifying_spend(member_id, now, programme.tier_review.months, conn)
        target = review_target(programme.tiers, current, floor, spend)
        if target is None:
            return None
        return await _move(conn, member_id, current, target, now, TierReason.REVIEW, programme)


async def set_tier_floor(
    member_id: int,
    tier_code: str | None,
    actor_id: int,
    now: datetime,
    programme: Programme,
    *,
    outbox: Outbox | None = None,
) -> FloorChange:
    """Staff set (or clear, with None) a floor; a member below it is lifted to it at once.

    The values before are read under the member's row lock, in the transaction that writes the
    new ones: of two changes at once, the second sees what the first left. A lifted member is
    told through `outbox` (the review's tier-up message: the same event to the member) in that
    transaction too: if telling fails, nothing is kept, and the retry lifts and tells; were the
    lift kept alone, the retry would lift nobody and tell no one. The message is keyed by the
    moment of the lift: a repeat of the same floor lifts nobody, and a later lift to the same
    tier, after a review took the member down, is a new one.
    """
    if tier_code is not None:
        programme.tiers.get(tier_code)  # refuses an unknown code before anything changes
    ladder = programme.tiers
    async with transaction() as conn:
        await lock_member(conn, member_id)
        current, old_floor = await _tiers_of(conn, member_id)
        if tier_code != old_floor:
            await Member.filter(id=member_id).using_db(conn).update(tier_floor=tier_code)
        log.info("tier floor member=%s floor=%s actor=%s", member_id, tier_code, actor_id)
        lift: TierChange | None = None
        if tier_code is not None and ladder.rank(tier_code) > ladder.rank(current):
            lift = await _move(
                conn, member_id, current, ladder.get(tier_code), now, TierReason.STAFF, programme
            )
            if outbox is not None:
                await outbox.tell(
                    announcements.tier_upgrade(programme, lift.to_tier, now),
                    key=outbox_key("tier", member_id, "floor", lift.to_tier, now.isoformat()),
                    now=now,
                    member_id=member_id,
                )
    return FloorChange(
        member_id=member_id,
        floor_before=old_floor,
        floor_after=tier_code,
        tier_before=ladder.get(current).code,
        tier_after=lift.to_tier if lift is not None else ladder.get(current).code,
        lift=lift,
    )


async def tier_status(member_id: int, now: datetime, programme: Programme) -> TierStatus:
    """Tier, floor, qualifying spend and what it takes to reach the next tier."""
    rows = await Member.filter(id=member_id).values_list("tier", "tier_floor")
    if not rows:
        raise UnknownMember(member_id)
    current, floor = rows[0]
    spend = await qualifying_spend(member_id, now, programme.tier_review.months)
    ladder = programme.tiers
    return TierStatus(
        member_id=member_id,
        tier=ladder.get(current),
        floor=floor,
        spend_fen=spend,
        next_tier=ladder.above(current),
        spend_to_next_fen=spend_to_next(ladder, current, spend),
    )


REVIEW_BATCH = 500


async def review_all(
    day: date, now: datetime, programme: Programme, outbox: Outbox
) -> dict[str, int]:
    """The monthly review of every enrolled member; those who move are told, kindly.

    Each member's change and its message commit together: a run stopped between the two would
    leave a moved member untold, and the re-run would see no change to tell (`tier:<member>:
    <day>` keys the message, so a re-run tells nobody twice)."""
    counts: Counter[str] = Counter(reviewed=0, upgraded=0, downgraded=0)
    last = 0
    while True:
        found: list[Any] = (
            await Member.filter(joined_at__isnull=False, id__gt=last)
            .order_by("id")
            .limit(REVIEW_BATCH)
            .values_list("id", flat=True)
        )
        ids = [int(i) for i in found]
        if not ids:
            return dict(counts)
        last = ids[-1]
        for member_id in ids:
            counts["reviewed"] += 1
            async with transaction():
                change = await review_tier(member_id, now, programme)
                if change is None:
                    continue
                say = (
                    announcements.tier_upgrade(programme, change.to_tier, now)
                    if change.upgrade
                    else announcements.tier_downgrade(programme, change.to_tier, now)
                )
                key = outbox_key("tier", member_id, day.isoformat())
                told = await outbox.tell(say, key=key, now=now, member_id=member_id)
            counts["upgraded" if change.upgrade else "downgraded"] += 1
            count_plan(counts, told.plan)
