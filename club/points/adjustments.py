"""Staff adjustments told to the member: the ledger's `adjust`, then its message.

The two are idempotent on the same ref: the adjustment on its ledger ref, the message on an
outbox key made of it. They run one after the other, not in one transaction: the ledger's credit
is one statement that settles a repeated ref by its unique key, and on PostgreSQL a unique-key
error inside an enclosing transaction would abort it. A request that fails between the two is
finished by its retry with the same `ref` (which moves no points and records the message); a
request without a `ref` cannot be retried safely anyway (each call is a new adjustment).
"""

from __future__ import annotations

from datetime import datetime

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
    movement = await ledger.adjust(
        member_id, points, reason, actor_id, now, ref=ref, expires_at=expires_at
    )
    say = announcements.points_adjusted(
        programme, movement.points, movement.balance_after, movement.reason, now
    )
    await outbox.tell(say, key=outbox_key(movement.ref), now=now, member_id=member_id)
    return movement
