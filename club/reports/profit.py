"""The profit of a purchase as SQL, the same rule as `club.rules.value.purchase_profit`.

Every figure is integer fen and every division truncates, on SQLite and PostgreSQL alike, so
both give the same answer to the fen. The programme's numbers are validated integers and go into
the SQL as literals; nothing a user typed does.
"""

from __future__ import annotations

from club.rules.channels import ChannelLevel
from club.rules.programme import BASIS_POINTS, ValueRules


def net(p: str = "p") -> str:
    return f"({p}.amount_fen - {p}.returned_fen)"


def cost(p: str = "p") -> str:
    """The cost of what was kept; NULL when the till gave none."""
    return (
        f"(CASE WHEN {p}.cost_fen IS NULL THEN NULL WHEN {p}.returned_fen = 0 THEN {p}.cost_fen"
        f" ELSE {p}.cost_fen * {net(p)} / {p}.amount_fen END)"
    )


def service_bp(rules: ValueRules, p: str = "p") -> str:
    cases = " ".join(f"WHEN '{level}' THEN {int(bp)}" for level, bp in rules.service_cost_bp)
    consumer = int(rules.service_bp(ChannelLevel.CONSUMER.value))
    return f"(CASE {p}.channel_level {cases} ELSE {consumer} END)"


def profit(rules: ValueRules, p: str = "p") -> str:
    """Sale - cost - points value - service cost; NULL when the cost is missing."""
    points = f"({p}.points_earned - {p}.points_reversed) * {int(rules.point_value_fen)}"
    service = f"{net(p)} * {service_bp(rules, p)} / {BASIS_POINTS}"
    return f"({net(p)} - {cost(p)} - {points} - {service})"


def missing_cost(p: str = "p") -> str:
    """1 for a purchase without a cost, else 0 (to count them)."""
    return f"(CASE WHEN {p}.cost_fen IS NULL THEN 1 ELSE 0 END)"
