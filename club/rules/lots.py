"""Which earned lots a spend takes points from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Lot:
    id: int
    remaining: int
    expires_at: datetime | None


def spending_order(lots: Sequence[Lot], prefer: int | None = None) -> list[Lot]:
    """Soonest-expiring first (never-expiring last), then oldest; `prefer` goes first.

    Taking the points that expire first is what a member expects of "oldest first", and it
    wastes the fewest points. A return prefers the lot its own purchase created.
    """

    def key(lot: Lot) -> tuple[int, int, float, int]:
        never = lot.expires_at is None
        stamp = 0.0 if lot.expires_at is None else lot.expires_at.timestamp()
        return (0 if lot.id == prefer else 1, 1 if never else 0, stamp, lot.id)

    return sorted(lots, key=key)


def allocate(lots: Sequence[Lot], points: int, prefer: int | None = None) -> list[tuple[int, int]]:
    """(lot id, points taken) covering as much of `points` as the lots hold.

    Returns fewer points than asked only when the lots run out; the caller decides whether that
    is an error (a redemption) or a debt (a return of points already spent).
    """
    if points < 0:
        raise ValueError("points must not be negative")
    taken: list[tuple[int, int]] = []
    left = points
    for lot in spending_order(lots, prefer):
        if left == 0:
            break
        if lot.remaining <= 0:
            continue
        take = min(lot.remaining, left)
        taken.append((lot.id, take))
        left -= take
    return taken


def pay_debt(debt: int, credit: int) -> tuple[int, int]:
    """(paid to the debt, left to add to the balance) for a credit while in debt."""
    paid = min(debt, credit)
    return paid, credit - paid
