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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from tortoise.expressions import Q

from club.campaigns import bonus
from club.db import tx
from club.db.models.campaigns import CampaignRecipient
from club.db.raw import rows
from club.messaging.delivery import withdraw
from club.messaging.plan import Channel
from club.rules.campaigns import RecipientState

CANCELLED = "campaign cancelled"

_UNSENT = """
SELECT r.id AS recipient_id, COALESCE(c.id, o.id) AS outbox_id,
       COALESCE(c.channel, o.channel) AS channel, COALESCE(c.status, o.status) AS status
FROM campaign_recipient r
JOIN outbox_message o ON o.id = r.outbox_id
LEFT JOIN outbox_message c ON c.idempotency_key = o.idempotency_key || ':template'
WHERE {scope} AND r.state = 'messaged' AND COALESCE(c.status, o.status) IN ('queued', 'sending')
"""
_OF_CHUNK = _UNSENT.format(scope="r.run_id = $1 AND r.chunk = $2")
_OF_CAMPAIGN = _UNSENT.format(scope="r.campaign_id = $1")


@dataclass(frozen=True)
class ToSend:
    recipient_id: int
    outbox_id: int
    channel: Channel


@dataclass(frozen=True)
class Unsent:
    item: ToSend
    queued: bool
    """False: a sender has it (`sending`)."""


async def of_chunk(run_id: int, number: int) -> list[Unsent]:
    return await _found(_OF_CHUNK, [run_id, number])


async def _found(sql: str, values: list[int]) -> list[Unsent]:
    return [
        Unsent(
            ToSend(int(r["recipient_id"]), int(r["outbox_id"]), Channel(str(r["channel"]))),
            r["status"] == "queued",
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


async def cancel_rest(campaign_id: int, now: datetime, *, mass_going: Sequence[int] = ()) -> int:
    """The campaign is cancelled: its recipients not yet planned, waiting for the mass send, or
    whose message is still waiting are skipped, saying so, and the bonus reserved for them is
    given back, never credited (a message being sent right now goes, and so does a mass send
    being sent: the members of the runs `mass_going`; a message waiting for a retry after an
    unanswered attempt is outcome unknown, its bonus kept). A worker that wrote a batch
    meanwhile withdraws it itself when it next reads the status. How many were skipped."""
    waiting_mass = Q(state=RecipientState.MASS) & ~Q(run_id__in=list(mass_going))
    skipped = await CampaignRecipient.filter(
        Q(state=RecipientState.PENDING) | waiting_mass, campaign_id=campaign_id
    ).update(state=RecipientState.SKIPPED, reason=CANCELLED)
    waiting = [u.item for u in await _found(_OF_CAMPAIGN, [campaign_id]) if u.queued]
    taken = await take_back(waiting, RecipientState.SKIPPED, CANCELLED, now)
    await bonus.release(campaign_id, now)  # what they reserved goes back to the budget
    return int(skipped) + taken.moved
