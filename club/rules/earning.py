"""How many points a purchase and a check-in earn."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from club.rules.programme import Earning


def purchase_points(amount_fen: int, earning: Earning, multiplier: Decimal) -> int:
    """Points for a purchase: whole yuan x points per yuan x tier multiplier, rounded down.

    Rounding down (never up) keeps a split order from earning more than the same order paid
    at once.
    """
    if amount_fen < 0:
        raise ValueError("amount_fen must not be negative")
    exact = Decimal(amount_fen) / 100 * earning.points_per_yuan * multiplier
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


def proportional_reversal(points_earned: int, amount_fen: int, returned_fen_after: int) -> int:
    """Points to have reversed in total once `returned_fen_after` of the order is returned.

    Computed on the cumulative returned amount, so several partial returns add up to exactly
    the points earned when everything has come back (no rounding drift).
    """
    if amount_fen <= 0:
        return 0
    if not 0 <= returned_fen_after <= amount_fen:
        raise ValueError("returned amount outside 0..amount")
    return points_earned * returned_fen_after // amount_fen


def checkin_streak(previous_streak: int | None) -> int:
    """Today's streak given yesterday's (None: no check-in yesterday)."""
    return 1 if previous_streak is None else previous_streak + 1


def checkin_points(streak: int, earning: Earning) -> tuple[int, int]:
    """(daily points, streak bonus) for the streak-th consecutive day."""
    bonus = earning.checkin_streak_bonus if streak % earning.checkin_streak_days == 0 else 0
    return earning.checkin_points, bonus
