"""What a campaign wrote and has not sent yet, and taking it back.

A recipient's message is its outbox row, or that row's template copy once the window refused
the customer-service row (`club.messaging.delivery.fallback`, key `<key>:template`), as the
progress counts it. Only the campaign's chunks send these rows (the outbox sweeps leave them
alone: `club.messaging.delivery.swept`), so the rows a paused campaign wrote wait for its
resume and then go exactly once.

Taking back is `club.messaging.delivery.withdraw` (skipped, never sent; a row a sender has
claimed meanwhile is left to it) with the recipient moved on and the reason said: to the mass
send when the template quota is spent, skipped when the campaign is cancelled. A row an attempt
of which went unanswered may have reached its member already: withdrawn, it is outcome unknown
(`club.messaging.outcomes.withdrawn`), and its recipient stays messaged, counted so by the
progress and the cost, never sent the campaign another way (its bonus is kept:
`club.campaigns.bonus`; a member whose message was withdrawn before it went has it given back).

A cancel (`cancel_rest`) takes back what waits at that moment; a message being sent is left to
its sender. What that send comes to may be waiting again after the cancel: its sender died and
the outbox sweep put the row back to the queue (`club.messaging.delivery.settle_abandoned`), or
WeChat answered busy (a retry), or 45009 (its member moved to a mass send a cancelled run never
makes); nothing sends a cancelled campaign's rows, so it would wait for good, its bonus
reserved. The scheduler's tick finds such leftovers of cancelled runs and takes them back the
same way (`withdraw_leftovers`), whatever put them there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from tortoise.expressions import Q

from club.campaigns import bonus, mass
from club.db import tx
from club.db.models.campaigns import CampaignRecipient
from club.db.raw import rows
from club.messaging.delivery import withdraw
from club.messaging.plan import Channel
from club.rules.campaigns import RecipientState

log = logging.getLogger(__name__)

CANCELLED = "campaign cancelled"

_UNSENT = """
SELECT r.id AS recipient_id, COALESCE(c.id, o.id) AS outbox_id,
       COALESCE(c.channel, o.channel) AS channel, COALESCE(c.status, o.status) AS status
FROM campaign_recipient r
JOIN outbox_message o ON o.id = r.outbox_id
LEFT JOIN outbox_message c ON c.idempotency_key = o.idempotency_key || ':template'
WHERE {scope} AND r.state = 'messaged' AND (COALESCE(c.status, o.status) IN ('queued', 'sending')
                                            {or_quota})
"""
_QUOTA = "OR (COALESCE(c.status, o.status) = 'failed' AND COALESCE(c.outcome, o.outcome) = 'quota')"
"""A template row waiting for the day's quota to come back (it is claimed again after midnight):
a cancel takes it back too. The chunk's own sending leaves it: its worker moves such a member to
the mass send (`club.campaigns.fanout`)."""
_OF_CHUNK = _UNSENT.format(scope="r.run_id = $1 AND r.chunk = $2", or_quota="")
_OF_CAMPAIGN = _UNSENT.format(scope="r.campaign_id = $1", or_quota=_QUOTA)

_LEFT_AFTER_CANCEL = """
SELECT r.campaign_id FROM outbox_message q
JOIN campaign_recipient r ON r.member_id = q.member_id AND r.state = 'messaged'
JOIN outbox_message o ON o.id = r.outbox_id
JOIN campaign_run u ON u.id = r.run_id
WHERE q.kind = 'campaign' AND u.status = 'cancelled'
  AND (q.status = 'queued' OR (q.status = 'failed' AND q.outcome = 'quota'
                               AND q.not_before IS NOT NULL))
  AND (q.id = o.id OR q.idempotency_key = o.idempotency_key || ':template')
UNION
SELECT r.campaign_id FROM campaign_run u
JOIN campaign_recipient r ON r.run_id = u.id
WHERE u.status = 'cancelled' AND r.state IN ('pending', 'mass') AND NOT EXISTS (
    SELECT 1 FROM mass_send s
    WHERE s.run_id = u.id AND s.status = 'tagging' AND s.sent_at IS NOT NULL)
"""
"""The cancelled campaigns with something waiting that nothing will send: a row queued or
waiting for the quota (found from the outbox's few waiting rows, by their member: the
recipients have no index on their row), or a member pending or waiting for a mass send that was
not claimed before the cancel (one claimed goes on: `club.campaigns.mass.cancel`)."""


@dataclass(frozen=True)
class ToSend:
    recipient_id: int
    outbox_id: int
    channel: Channel


@dataclass(frozen=True)
class Unsent:
    item: ToSend
    queued: bool
    """False: a sender has it (`sending`). True: queued (or, for a cancel, waiting for the
    day's quota)."""


async def of_chunk(run_id: int, number: int) -> list[Unsent]:
    return await _found(_OF_CHUNK, [run_id, number])


async def _found(sql: str, values: list[int]) -> list[Unsent]:
    return [
        Unsent(
            ToSend(int(r["recipient_id"]), int(r["outbox_id"]), Channel(str(r["channel"]))),
            r["status"] != "sending",
        )
        for r in await rows(sql, values)
    ]


class Taken(NamedTuple):
    moved: int
    """Never sent: their recipients moved on."""
    unknown: int
    """May have gone (an attempt went unanswered): outcome unknown, their recipients left."""


async def take_back(
    items: Sequence[ToSend], state: RecipientState, reason: str, now: datetime
) -> Taken:
    """Withdraw the items' rows; the recipients of those never sent move to `state` with
    `reason` (those that may have gone stay messaged, their rows outcome unknown)."""
    if not items:
        return Taken(0, 0)
    # One transaction: a settler of the bonus (`club.campaigns.bonus`) never sees a withdrawn
    # row whose member is still `messaged` and about to go by the mass send.
    async with tx.transaction():
        withdrawn = await withdraw([i.outbox_id for i in items], reason, now)
        skipped = set(withdrawn.skipped)
        moved = [i.recipient_id for i in items if i.outbox_id in skipped]
        if moved:
            await CampaignRecipient.filter(id__in=moved, state=RecipientState.MESSAGED).update(
                state=state, reason=reason
            )
    return Taken(len(moved), len(withdrawn.unknown))


async def cancel_rest(campaign_id: int, now: datetime) -> int:
    """The campaign is cancelled: its mass sends not claimed yet never go (`mass.cancel`), and
    its recipients not yet planned, waiting for the mass send, or whose message is still waiting
    (queued, or for the day's quota) are skipped, saying so, and the bonus reserved for them is
    given back, never credited (a message being sent right now is left to its sender, and a
    mass send being sent goes on, with its members; a message waiting for a retry after an
    unanswered attempt is outcome unknown, its bonus kept). A worker that wrote a batch
    meanwhile withdraws it itself when it next reads the status; what a send in progress leaves
    waiting is taken back by `withdraw_leftovers`. How many were skipped. Run again, it takes
    back only what waits again."""
    mass_going = await mass.cancel(campaign_id, now)
    waiting_mass = Q(state=RecipientState.MASS) & ~Q(run_id__in=mass_going)
    skipped = await CampaignRecipient.filter(
        Q(state=RecipientState.PENDING) | waiting_mass, campaign_id=campaign_id
    ).update(state=RecipientState.SKIPPED, reason=CANCELLED)
    waiting = [u.item for u in await _found(_OF_CAMPAIGN, [campaign_id]) if u.queued]
    taken = await take_back(waiting, RecipientState.SKIPPED, CANCELLED, now)
    await bonus.release(campaign_id, now)  # what they reserved goes back to the budget
    return int(skipped) + taken.moved


async def withdraw_leftovers(now: datetime) -> int:
    """The scheduler's step: take back, as the cancel does (`cancel_rest`), what the cancelled
    campaigns have waiting again since (a send that was in progress at the cancel came back to
    the queue, or its member to the mass send); how many were skipped. A row that may have gone
    is outcome unknown (its bonus then credited by `bonus.settle_due`), one that never went is
    skipped and its bonus given back: the run comes to rest."""
    skipped = 0
    for campaign_id in sorted({int(r["campaign_id"]) for r in await rows(_LEFT_AFTER_CANCEL)}):
        log.info("campaign %s: cancelled, and messages waiting again: taken back", campaign_id)
        skipped += await cancel_rest(campaign_id, now)
    return skipped
