"""Tier decisions: upgrade at once on spend, downgrade one step at the review, staff floor."""

from __future__ import annotations

from datetime import date, datetime

from club.rules.programme import Tier, TierLadder


def upgrade_target(ladder: TierLadder, current: str | None, spend_fen: int) -> Tier | None:
    """The tier to move up to now, or None when the spend does not lift the member."""
    reached = ladder.for_spend(spend_fen)
    return reached if ladder.rank(reached.code) > ladder.rank(current) else None


def review_target(
    ladder: TierLadder, current: str | None, floor: str | None, spend_fen: int
) -> Tier | None:
    """The tier after a review, or None when it stays.

    Up to whatever the spend reaches; down by one step at most, and never below the floor a
    member of staff set.
    """
    reached = ladder.for_spend(spend_fen)
    current_rank = ladder.rank(current)
    if ladder.rank(reached.code) > current_rank:
        return reached
    floor_rank = ladder.rank(floor) if floor is not None else 0
    if ladder.rank(reached.code) < current_rank and current_rank > floor_rank:
        return ladder.tiers[current_rank - 1]
    return None


def spend_to_next(ladder: TierLadder, current: str | None, spend_fen: int) -> int | None:
    """Fen still to spend to reach the next tier; None at the top."""
    above = ladder.above(current)
    if above is None:
        return None
    return max(0, above.threshold_fen - spend_fen)


def months_back(now: datetime, months: int) -> datetime:
    """The same wall time `months` months before `now` (day clamped to the month's end)."""
    year, month = divmod(now.year * 12 + (now.month - 1) - months, 12)
    month += 1
    day = now.day
    while True:
        try:
            date(year, month, day)
            break
        except ValueError:
            day -= 1
    return now.replace(year=year, month=month, day=day)
