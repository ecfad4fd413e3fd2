"""The earning caps applied to one credit: what the member earned today and this month, read in
the credit's own transaction, after the member row is locked, so concurrent credits of one member
cannot both pass a cap."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Sum

from club.db.models.ledger import LedgerEntry
from club.rules.caps import Capped, apply_caps, day_start, month_start
from club.rules.kinds import EntryKind
from club.rules.programme import EarningCaps

EARNING_REFS = ("order:", "bottle:", "checkin:")
"""The ledger refs of earned points that count toward the caps (purchases, codes, check-ins)."""


async def _earned_since(member_id: int, since: datetime, conn: BaseDBAsyncClient) -> int:
    earned = Q(ref__startswith=EARNING_REFS[0])
    for prefix in EARNING_REFS[1:]:
        earned |= Q(ref__startswith=prefix)
    rows = await (
        LedgerEntry.filter(
            earned,
            member_id=member_id,
            kind__in=(EntryKind.EARN, EntryKind.BONUS),
            created_at__gte=since,
        )
        .using_db(conn)
        .annotate(total=Sum("points"))
        .values("total")
    )
    total = rows[0]["total"] if rows else None
    return int(total or 0)


async def capped_credit(
    member_id: int,
    wanted: int,
    caps: EarningCaps,
    now: datetime,
    conn: BaseDBAsyncClient,
    *,
    order: bool = False,
) -> Capped:
    """How much of `wanted` may be credited now (call with the member row locked)."""
    if not caps.any or wanted <= 0:
        return Capped(wanted)
    month = await _earned_since(member_id, month_start(now), conn) if caps.per_month else 0
    today = await _earned_since(member_id, day_start(now), conn) if caps.per_day else 0
    return apply_caps(wanted, caps, earned_today=today, earned_this_month=month, order=order)
