"""Where the points of a refund go: the debt, the lots they were taken from, or expiry.

A refund (a cancelled redemption) gives back points a spend took. They go back to the lots the
spend took them from, so they keep those lots' expiry: a fresh lot would let a member whose points
expire tomorrow redeem and cancel to make them live another year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Use:
    """Points the spend took from one lot."""

    lot_id: int
    points: int
    expires_at: datetime | None
    expired: bool
    """The lot's date has passed (or the expiry run has emptied it) since the spend."""


@dataclass(frozen=True)
class RefundPlan:
    to_debt: int
    restore: tuple[tuple[int, int], ...]
    """(lot id, points) to add back to lots that are still valid."""
    expire: int
    """Points of lots that have expired since: refunded and expired by the same movement."""
    new_lot: int
    """Points no recorded use covers (a spend from before uses were recorded)."""


def _order(use: Use) -> tuple[int, int, float, int]:
    never = use.expires_at is None
    stamp = 0.0 if use.expires_at is None else use.expires_at.timestamp()
    return (0 if use.expired else 1, 1 if never else 0, stamp, use.lot_id)


def plan_refund(uses: Sequence[Use], points: int, debt: int) -> RefundPlan:
    """Split a refund of `points` over what the spend took, soonest-expiring first.

    The order is the one spending takes points in (expired lots first, never-expiring last).
    Debt is paid first, as by any credit, out of the soonest-expiring points, which are the ones
    a return would have taken had the member not spent them. What is left goes back to each lot
    by what the spend took from it, except points of a lot that has expired since: those are
    expired at once (the member would have lost them had they not been spent). A refund smaller
    than the spend leaves the latest-expiring points unrestored. Points beyond the recorded
    uses (a spend recorded before lot uses existed) go to a new lot, listed last.
    """
    if points <= 0:
        raise ValueError("points must be positive")
    if debt < 0:
        raise ValueError("debt must not be negative")
    to_debt = min(debt, points)
    skip = to_debt
    left = points - to_debt
    restore: list[tuple[int, int]] = []
    expire = 0
    for use in sorted(uses, key=_order):
        share = use.points
        paid = min(skip, share)
        skip -= paid
        share = min(share - paid, left)
        if share <= 0:
            continue
        left -= share
        if use.expired:
            expire += share
        else:
            restore.append((use.lot_id, share))
    return RefundPlan(to_debt, tuple(restore), expire, left)
