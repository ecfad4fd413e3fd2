"""The programme's `[campaigns]` section: every key optional, each error naming its key."""

from __future__ import annotations

from typing import Any

from club.rules.programme import Campaigns, ProgrammeError

_BOUNDS = {
    "template_daily_quota": (0, 10**8),
    "approval_threshold": (0, 10**9),
    "max_per_second": (1, 10_000),
    "mass_per_month": (0, 31),
    "tag_calls_per_second": (1, 1000),
    "effect_days": (1, 365),
    "message_cost_fen": (0, 10_000),
}


def campaigns(root: Any) -> Campaigns:
    """`root`: the loader's table of the whole file (its `table` and `integer` readers)."""
    if "campaigns" not in root.data:
        return Campaigns()
    table = root.table("campaigns")
    if "point_value_fen" in table.data:
        raise ProgrammeError(
            f"{table.key('point_value_fen')}: moved to [value] point_value_fen (one value of a"
            " point for a campaign's cost and for profit)"
        )
    unknown = sorted(set(table.data) - set(_BOUNDS))
    if unknown:
        raise ProgrammeError(f"{table.key(unknown[0])}: not a campaign setting")
    defaults = Campaigns()
    values = {
        name: table.integer(name, low=low, high=high, default=getattr(defaults, name))
        for name, (low, high) in _BOUNDS.items()
    }
    return Campaigns(**values)
