"""Customer value rules, pure: the programme's value and churn settings, the profit of one
purchase, shares and cuts.

The reports compute the same in SQL (`club.reports.profit`); a test holds the two together.
"""

from __future__ import annotations

from dataclasses import dataclass

from club.rules.channels import ChannelLevel
from club.rules.periods import Preset

BASIS_POINTS = 10_000
"""Shares are whole basis points (1/10,000): sums and comparisons stay integer in SQL."""


@dataclass(frozen=True)
class ValueRules:
    """How customer value is counted: profit, the 80/20 cut, classes, quadrants.

    Profit of a purchase = net sale - cost - the points it earned at `point_value_fen` each - the
    service cost of its channel level (a share of the net sale). Shares are basis points.
    """

    point_value_fen: int
    """What one point costs the club, in fen."""
    service_cost_bp: tuple[tuple[str, int], ...]
    """(channel level, share of sales in basis points) for every level."""
    months: int = 12
    """Value (profit, spend, frequency) is counted over this many trailing months."""
    pareto_share_bp: int = 8_000
    """Key customers: the smallest set making this share of sales (or of profit)."""
    potential_band_bp: int = 1_000
    """Just below the cut: customers within this share after it, whose trend is rising."""
    rising_bp: int = 2_000
    """A trend is rising when the later half sells at least this much more than the earlier."""
    class_a_bp: int = 8_000
    class_b_bp: int = 9_500
    """A: the customers making the first `class_a_bp` of profit; B up to `class_b_bp`; C the
    rest (and everyone whose profit is zero or less)."""
    rfm_bins: int = 5
    """Recency, frequency and monetary scores run 1..rfm_bins (quintiles by default)."""
    trend_months: int = 6
    """Potential: spend in the last N months against the N months before."""
    tier_gap_bp: int = 2_000
    """Potential: spend within this share of the next tier's threshold."""
    kept_rankings: int = 4
    """Rankings of periods a report asked for (besides the default one) kept for the day; each
    holds a row per customer (about 270 MB at a million customers on PostgreSQL)."""
    ranked_ahead: tuple[Preset, ...] = tuple(Preset)
    """The named periods the nightly `rank-ahead` job ranks before anyone asks (kept for the
    day besides `kept_rankings`)."""

    @property
    def profit_key(self) -> str:
        """What a ranking's figures depend on besides the purchases: the profit rule's
        numbers (the cut, bands and classes apply when a ranking is read)."""
        return repr((self.point_value_fen, self.service_cost_bp))

    def service_bp(self, level: str) -> int:
        return dict(self.service_cost_bp)[level]

    @classmethod
    def unpriced(cls) -> ValueRules:
        """No point value and no service cost (a programme built in code, not loaded)."""
        return cls(point_value_fen=0, service_cost_bp=tuple((lv.value, 0) for lv in ChannelLevel))


@dataclass(frozen=True)
class ChurnRules:
    silence_factor_pct: int = 200
    """Flag when the silence since the last purchase exceeds this many hundredths of the
    member's own rhythm (the median gap between their purchases): 200 = twice."""
    min_purchases: int = 3
    """A rhythm needs at least this many purchases."""
    spend_drop_bp: int = 5_000
    """Flag when the last 12 months' spend fell by more than this share against the 12 before."""
    dormant_days: int = 180
    """A follower with no purchase, message or scan for this long has gone dormant (an exit)."""


def net_sale(amount_fen: int, returned_fen: int) -> int:
    return amount_fen - returned_fen


def net_cost(cost_fen: int | None, amount_fen: int, returned_fen: int) -> int | None:
    """The cost of what was kept: a partly returned order keeps its cost in proportion."""
    if cost_fen is None:
        return None
    if returned_fen == 0:
        return cost_fen
    return cost_fen * (amount_fen - returned_fen) // amount_fen


def service_cost(net_fen: int, level: str | None, rules: ValueRules) -> int:
    """The channel's cost of serving the sale: a share of it (no store: the consumer level)."""
    return net_fen * rules.service_bp(level or ChannelLevel.CONSUMER.value) // BASIS_POINTS


def purchase_profit(
    *,
    amount_fen: int,
    returned_fen: int,
    cost_fen: int | None,
    points_earned: int,
    points_reversed: int,
    level: str | None,
    rules: ValueRules,
) -> int | None:
    """Sale - cost - points value - service cost, in fen; None when the cost is unknown."""
    net = net_sale(amount_fen, returned_fen)
    cost = net_cost(cost_fen, amount_fen, returned_fen)
    if cost is None:
        return None
    points = (points_earned - points_reversed) * rules.point_value_fen
    return net - cost - points - service_cost(net, level, rules)


def within_share(before: int, total: int, share_bp: int) -> bool:
    """In the smallest set reaching `share_bp` of `total`, ranked from the largest: true while
    what the customers ranked before this one make is still short of the share."""
    return total > 0 and before * BASIS_POINTS < share_bp * total
