"""Reading a member's points movements: the ledger as the chat and the staff API show it.

Newest first by entry id: the ledger is append-only, so ids follow the order rows were written,
and `before_id` pages through it without gaps or repeats while new rows arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from club.db.models.ledger import LedgerEntry, PointsLot
from club.rules.kinds import EntryKind

__all__ = ["MAX_MOVEMENTS", "MovementView", "movements"]

MAX_MOVEMENTS = 500
"""The most rows one call returns; callers page with `before_id` for more."""


@dataclass(frozen=True)
class MovementView:
    id: int
    kind: EntryKind
    points: int
    """Signed: positive for credits, negative for debits."""
    balance_after: int
    reason: str
    ref: str
    created_at: datetime
    expires_at: datetime | None
    """When the points this movement added expire; None for debits and points that never do."""


async def movements(
    member_id: int, *, limit: int, before_id: int | None = None
) -> list[MovementView]:
    """The member's latest `limit` movements (older than `before_id` when given), newest first."""
    if isinstance(limit, bool) or not 1 <= limit <= MAX_MOVEMENTS:
        raise ValueError(f"limit must be 1..{MAX_MOVEMENTS}, got {limit!r}")
    query = LedgerEntry.filter(member_id=member_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.order_by("-id").limit(limit)
    lots = await PointsLot.filter(entry_id__in=[r.id for r in rows]).values_list(
        "entry_id", "expires_at"
    )
    expiry = {int(entry_id): at for entry_id, at in lots}  # type: ignore[misc]
    return [
        MovementView(
            id=r.id,
            kind=EntryKind(r.kind),
            points=r.points,
            balance_after=r.balance_after,
            reason=r.reason,
            ref=r.ref,
            created_at=r.created_at,
            expires_at=expiry.get(r.id),
        )
        for r in rows
    ]
