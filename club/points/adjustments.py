"""Staff adjustments told to the member: the ledger's `adjust` and its message in one transaction.

The message is keyed by the adjustment's ledger ref, so a retried request (the same `ref`)
moves no points and tells nobody twice.
"""

from __future__ import annotations

from datetime import datetime

from club.db.tx import transaction
from club.messaging import announcements
from club.messaging.keys import outbox_key
from club.messaging.outbox import Outbox
from club.points import ledger
from club.points.ledger import Movement
from club.rules.programme import Programme


async def adjust_and_tell(
    member_id: int,
    points: int,
    reason: str,
    *,
    actor_id: int,
    now: datetime,
    programme: Programme,
    outbox: Outbox,
    ref: str | None = None,
    expires_at: datetime | None = None,
) -> Movement:
    async with transaction():
        movement = await ledger.adjust(
            member_id, points, reason, actor_id, now, ref=ref, expires_at=expires_at
        )
        say = announcements.points_adjusted(
            programme, movement.points, movement.balance_after, reason, now
        )
        await outbox.tell(say, key=outbox_key(movement.ref), now=now, member_id=member_id)
    return movement
