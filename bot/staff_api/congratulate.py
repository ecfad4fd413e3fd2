"""The congratulation a member gets when a purchase recorded by staff lifts their tier.

Queued in the outbox (keyed by the order, so a repeated purchase queues nothing twice) with the
delivery rules' earliest time, so quiet hours hold; the outbox's sender picks it up from there
and falls back to a template when the 48-hour window has closed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.outbox import Outbox, TextMessage
from club.cs_window import contact_for
from club.delivery import delivery_rules, plan_delivery
from club.member_records import member_by_id
from club.programme.model import Programme

log = logging.getLogger(__name__)

KIND = "tier_change"


def upgrade_key(member_id: int, order_id: str) -> str:
    return f"tier:{member_id}:order:{order_id}"[:128]


async def congratulate(
    outbox: Outbox,
    programme: Programme,
    *,
    member_id: int,
    to_tier: str,
    order_id: str,
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
    text = programme.messages.purchase_upgrade.render(member.language, tier=name)
    await outbox.enqueue(
        openid=member.openid,
        kind=KIND,
        key=upgrade_key(member_id, order_id),
        payload=TextMessage(text),
        member_id=member_id,
        not_before=plan.not_before,
    )
    return True
