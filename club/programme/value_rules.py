"""The `[value]` and `[churn]` tables of the programme: profit, 80/20, classes, churn."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from club.programme.table import Table as _Table
from club.rules.channels import ChannelLevel
from club.rules.periods import Preset, parse_presets
from club.rules.programme import BASIS_POINTS, ChurnRules, ProgrammeError, ValueRules


def share(
    table: _Table,
    name: str,
    default_bp: int | None = None,
    *,
    low: int = 0,
    high: int = BASIS_POINTS,
) -> int:
    """A share written as a fraction (0.8) or a percent string ("80%"), as basis points.

    Finer than a basis point is refused: every share must stay an integer in SQL.
    """
    if default_bp is not None and name not in table.data:
        return default_bp
    value = table.raw(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProgrammeError(f"{table.key(name)}: expected a share such as 0.8, got {value!r}")
    try:
        text = str(value).strip()
        number = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        raise ProgrammeError(
            f"{table.key(name)}: expected a share such as 0.8, got {value!r}"
        ) from None
    points = number * BASIS_POINTS
    if not points.is_finite() or points != points.to_integral_value():
        raise ProgrammeError(f"{table.key(name)}: {value!r} is finer than 0.0001")
    bp = int(points)
    if bp < low or bp > high:
        bounds = f"{low / BASIS_POINTS:g}..{high / BASIS_POINTS:g}"
        raise ProgrammeError(f"{table.key(name)}: {value!r} is out of range ({bounds})")
    return bp


def value_rules(table: _Table) -> ValueRules:
    costs = table.table("service_cost")
    unknown = sorted(set(costs.data) - {level.value for level in ChannelLevel})
    if unknown:
        raise ProgrammeError(
            f"{costs.key(unknown[0])}: not a channel level "
            f"(known: {', '.join(level.value for level in ChannelLevel)})"
        )
    service = tuple((level.value, share(costs, level.value)) for level in ChannelLevel)
    class_a = share(table, "class_a_share", 8_000, low=1)
    class_b = share(table, "class_b_share", 9_500, low=1)
    if class_b < class_a:
        raise ProgrammeError(f"{table.key('class_b_share')}: must not be below class_a_share")
    return ValueRules(
        point_value_fen=table.integer("point_value_fen"),
        service_cost_bp=service,
        months=table.integer("months", low=1, high=36, default=12),
        pareto_share_bp=share(table, "pareto_share", 8_000, low=1),
        potential_band_bp=share(table, "potential_band", 1_000),
        rising_bp=share(table, "rising_growth", 2_000),
        class_a_bp=class_a,
        class_b_bp=class_b,
        rfm_bins=table.integer("rfm_bins", low=2, high=10, default=5),
        trend_months=table.integer("trend_months", low=1, high=18, default=6),
        tier_gap_bp=share(table, "tier_gap_share", 2_000),
        kept_rankings=table.integer("kept_rankings", low=0, high=50, default=4),
        ranked_ahead=ranked_ahead(table),
    )


def ranked_ahead(table: _Table) -> tuple[Preset, ...]:
    """`ranked_ahead`, optional: every named period by default, `[]` for none."""
    try:
        return parse_presets(table.raw("ranked_ahead", list(Preset)), table.key("ranked_ahead"))
    except ValueError as exc:
        raise ProgrammeError(str(exc)) from None


def churn_rules(root: _Table) -> ChurnRules:
    """`[churn]`, optional: the defaults are the domain's (twice the rhythm, half the spend)."""
    if "churn" not in root.data:
        return ChurnRules()
    table = root.table("churn")
    factor = table.raw("silence_factor", 2)
    try:
        pct = Decimal(str(factor)) * 100
    except InvalidOperation:
        pct = Decimal(-1)
    if isinstance(factor, bool) or pct != pct.to_integral_value() or not 100 <= pct <= 10_000:
        raise ProgrammeError(
            f"{table.key('silence_factor')}: expected a number from 1 to 100 with at most two "
            f"decimals, got {factor!r}"
        )
    return ChurnRules(
        silence_factor_pct=int(pct),
        min_purchases=table.integer("min_purchases", low=3, high=100, default=3),
        spend_drop_bp=share(table, "spend_drop", 5_000, low=1),
        dormant_days=table.integer("dormant_days", low=30, high=3650, default=180),
    )
