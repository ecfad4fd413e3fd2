"""The congratulation a member gets when staff lift their tier: by a purchase, or by a floor.

Queued in the outbox with the delivery rules' earliest time, so quiet hours hold; the outbox's
sender picks it up from there and falls back to a template when the 48-hour window has closed.
Each is keyed by what lifted the member, so a repeated request queues nothing twice: a purchase by
its order, a floor by the moment of the lift (a repeat of the same floor lifts nobody, and a
later lift to the same tier, after a review took the member down, is a new one).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.outbox import Outbox, TextMessage
from club.members.records import member_by_id
from club.messaging.plan import delivery_rules, plan_delivery
from club.messaging.window import contact_for
from club.rules.programme import Programme, Text
from club.tiers.service import TierChange

log = logging.getLogger(__name__)

KIND = "tier_change"


def upgrade_key(member_id: int, order_id: str) -> str:
    return f"tier:{member_id}:order:{order_id}"[:128]


def floor_lift_key(lift: TierChange) -> str:
    return f"tier:{lift.member_id}:floor:{lift.to_tier}:{lift.at.isoformat()}"[:128]


async def congratulate(
    outbox: Outbox,
    programme: Programme,
    *,
    member_id: int,
    to_tier: str,
    order_id: str,
    now: datetime,
) -> bool:
    """After a purchase lifted the tier; False when the member cannot be messaged."""
    key = upgrade_key(member_id, order_id)
    message = programme.messages.purchase_upgrade
    return await _announce(outbox, programme, member_id, to_tier, message, key, now)


async def congratulate_floor_lift(
    outbox: Outbox, programme: Programme, lift: TierChange, now: datetime
) -> bool:
    """After a floor lifted the tier: the tier review's tier-up message, the same event to the
    member. False when the member cannot be messaged."""
    message = programme.messages.tier_upgrade
    key = floor_lift_key(lift)
    return await _announce(outbox, programme, lift.member_id, lift.to_tier, message, key, now)


async def _announce(
    outbox: Outbox,
    programme: Programme,
    member_id: int,
    to_tier: str,
    message: Text,
    key: str,
    now: datetime,
) -> bool:
    """Queue the message; False when the member cannot be messaged (nothing queued)."""
    member = await member_by_id(member_id)
    if member is None:
        return False
    rules = delivery_rules(programme)
    contact = await contact_for(member_id, rules, now)
    if contact is None:
        return False
    plan = plan_delivery(contact, KIND, rules, now)
    if not plan.sendable:
        log.info("tier upgrade of member %s not announced: %s", member_id, plan.skipped)
        return False
    tier = programme.tiers.get(to_tier)
    name = tier.name_en if member.language == "en" else tier.name_zh
    await outbox.enqueue(
        openid=member.openid,
        kind=KIND,
        key=key,
        payload=TextMessage(message.render(member.language, tier=name)),
        member_id=member_id,
        not_before=plan.not_before,
    )
    return True
