"""Earning caps: the most points a member earns from one order, in a day and in a month.

Pure: standard library only. Caps count points earned from purchases, bottle codes and
check-ins (not gifts, bonuses or staff adjustments). A cap of 0 means none. A credit that would
pass a cap is cut to what is left (`Capped.cap` names the cap that cut it, for the ledger's
reason); what is already over a cap earns nothing more until the day or month turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from club.rules import reasons
from club.rules.programme import EarningCaps


class Cap(StrEnum):
    ORDER = "order"
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class Capped:
    points: int
    """What may be credited (0 <= points <= what was asked)."""
    cap: Cap | None = None
    """The cap that cut the credit; None when it is whole."""
    limit: int = 0
    """That cap's value."""

    def reason(self, reason: str) -> str:
        """The ledger reason, saying when the credit was cut and by which cap."""
        if self.cap is None:
            return reason
        return reasons.capped(reason, self.cap.value, self.limit)


def apply_caps(
    wanted: int, caps: EarningCaps, *, earned_today: int, earned_this_month: int, order: bool
) -> Capped:
    """How much of `wanted` the caps allow, given what was earned today and this month."""
    allowed = wanted
    cut: tuple[Cap, int] | None = None
    limits = [(Cap.DAY, caps.per_day, earned_today), (Cap.MONTH, caps.per_month, earned_this_month)]
    if order:
        limits.insert(0, (Cap.ORDER, caps.per_order, 0))
    for cap, limit, used in limits:
        if limit and allowed > limit - used:
            allowed = max(0, limit - used)
            cut = (cap, limit)
    if cut is None:
        return Capped(wanted)
    return Capped(allowed, cut[0], cut[1])


def day_start(now: datetime) -> datetime:
    """The start of the club's day (`now` is in the club's time zone)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)
