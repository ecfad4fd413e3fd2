"""Reminders of points about to expire: one per member and expiry day, `reminder_days` before.

Run daily with the expiry (`expire-points`); the reminder of a member's points expiring on a day
is keyed `expiry:<member>:<day>`, so a re-run (or the next day's run, which sees the same points
still expiring within the window) reminds nobody twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from club.db.models.ledger import PointsLot
from club.db.models.members import Member, MemberStatus
from club.messaging import announcements
from club.messaging.keys import outbox_key
from club.messaging.outbox import MEMBER_FIELDS, Outbox, count_plan
from club.points.expiry import expiring_soon
from club.rules.programme import Programme

BATCH = 500


async def remind_expiring(now: datetime, programme: Programme, outbox: Outbox) -> dict[str, int]:
    """Remind every active member whose points expire within the programme's reminder days."""
    days = programme.expiry.reminder_days
    counts: Counter[str] = Counter()
    last = 0
    while True:
        member_ids: list[Any] = (
            await PointsLot.filter(
                remaining__gt=0,
                expires_at__gt=now,
                expires_at__lte=now + timedelta(days=days),
                member_id__gt=last,
            )
            .order_by("member_id")
            .distinct()
            .limit(BATCH)
            .values_list("member_id", flat=True)
        )
        if not member_ids:
            return {
                "reminders": counts.pop("queued", 0),
                "reminders_skipped": counts.pop("skipped", 0),
                **{f"reminders_{name}": n for name, n in counts.items()},
            }
        last = int(member_ids[-1])
        rows = await Member.filter(id__in=member_ids, status=MemberStatus.ACTIVE).values(
            *MEMBER_FIELDS
        )
        batch = await outbox.batch(rows, now)
        letters = []
        for row in rows:
            for soon in await expiring_soon(row["id"], now, days):
                say = announcements.points_expiry(programme, soon.points, soon.expires_on, now)
                key = outbox_key("expiry", row["id"], soon.expires_on.isoformat())
                letters.append(batch.letter(row, say, key))
        # Counted as the rows this run wrote: a reminder recorded by an earlier run is not new.
        new = {row.idempotency_key for row in await batch.record(letters)}
        for letter in letters:
            if letter.key in new:
                count_plan(counts, letter.plan)
