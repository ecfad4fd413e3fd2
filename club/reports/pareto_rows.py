"""What the 80/20 report answers, assembled from its tagged rows (`club.reports.pareto`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from club.reports.customers import CONSUMER
from club.reports.sql import Row
from club.rules.channels import ChannelLevel
from club.rules.programme import BASIS_POINTS, ValueRules


class Segment(StrEnum):
    ALL = "all"
    KEY = "key"
    """Key by sales or by profit, and every group-purchase account."""
    BOTH = "both"
    SALES_ONLY = "sales_only"
    """Big in sales, thin in profit: serving them first neglects the profitable ones."""
    PROFIT_ONLY = "profit_only"
    POTENTIAL = "potential"
    ACCOUNT = "account"
    """A group-purchase account that is not key by its share: key by definition all the same."""
    OTHER = "other"


@dataclass(frozen=True)
class CurvePoint:
    customers: float
    """Share of the level's customers, from the top."""
    value: float
    """Share of the level's sales (or profit) they make."""


@dataclass(frozen=True)
class LevelSummary:
    level: str
    customers: int
    purchases: int
    sales_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    missing_cost_sales_fen: int
    key_by_sales: int
    key_by_profit: int
    both: int
    sales_only: int
    profit_only: int
    potential: int
    accounts: int
    """Group-purchase accounts among the customers (consumer level)."""
    share_of_store_sales: float | None
    """For store levels: this level's part of all sales made at stores (None: consumers)."""
    share_of_store_profit: float | None
    sales_curve: list[CurvePoint] = field(default_factory=list)
    profit_curve: list[CurvePoint] = field(default_factory=list)


@dataclass(frozen=True)
class ParetoCustomer:
    level: str
    kind: str
    """`member`, `account` or `store`."""
    id: str
    name: str | None
    purchases: int
    sales_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    missing_cost_sales_fen: int
    sales_rank: int
    sales_share: float
    cumulative_sales_share: float
    profit_rank: int
    profit_share: float | None
    cumulative_profit_share: float | None
    key_by_sales: bool
    key_by_profit: bool
    rising: bool
    segment: str


@dataclass(frozen=True)
class ParetoReport:
    as_of: date | None
    """The day of the kept ranking read (None: one store's purchases, ranked now)."""
    computed_at: datetime | None
    share: float
    levels: list[LevelSummary]
    customers: list[ParetoCustomer]
    total_customers: int
    """Customers in the asked segment, over every page."""


def as_int(value: object) -> int:
    return int(value) if isinstance(value, int | Decimal | float | str) else 0


def as_opt(value: object) -> int | None:
    return None if value is None else as_int(value)


def share_of(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 6)


def assemble(
    rows: list[Row],
    rules: ValueRules,
    *,
    as_of: date | None = None,
    computed_at: datetime | None = None,
) -> ParetoReport:
    by_kind: dict[str, list[Row]] = {}
    for row in rows:
        by_kind.setdefault(str(row["row_kind"]), []).append(row)
    levels = sorted(by_kind.get("level", []), key=lambda r: _level_order(str(r["level"])))
    store_sales = sum(as_int(r["sales"]) for r in levels if r["level"] != CONSUMER)
    store_profit = sum(as_int(r["profit"]) for r in levels if r["level"] != CONSUMER)
    curves: dict[tuple[str, str], list[CurvePoint]] = {}
    for kind, rank, before, total in (
        ("sales_curve", "sales_rank", "sales_before", "level_sales"),
        ("profit_curve", "profit_rank", "profit_before", "level_profit"),
    ):
        for row in sorted(by_kind.get(kind, []), key=lambda r: as_int(r[rank])):
            point = CurvePoint(
                customers=round(as_int(row[rank]) / as_int(row["level_customers"]), 6),
                value=share_of(as_int(row[before]), as_opt(row[total])) or 0.0,
            )
            curves.setdefault((kind, str(row["level"])), []).append(point)
    summaries = [
        LevelSummary(
            level=str(r["level"]),
            customers=as_int(r["level_customers"]),
            purchases=as_int(r["purchases"]),
            sales_fen=as_int(r["sales"]),
            profit_fen=as_opt(r["profit"]),
            missing_cost_purchases=as_int(r["missing_n"]),
            missing_cost_sales_fen=as_int(r["missing_fen"]),
            key_by_sales=as_int(r["key_sales"]),
            key_by_profit=as_int(r["key_profit"]),
            both=as_int(r["n_both"]),
            sales_only=as_int(r["n_sales_only"]),
            profit_only=as_int(r["n_profit_only"]),
            potential=as_int(r["n_potential"]),
            accounts=as_int(r["n_accounts"]),
            share_of_store_sales=(
                None if r["level"] == CONSUMER else share_of(as_int(r["sales"]), store_sales)
            ),
            share_of_store_profit=(
                None if r["level"] == CONSUMER else share_of(as_opt(r["profit"]), store_profit)
            ),
            sales_curve=curves.get(("sales_curve", str(r["level"])), []),
            profit_curve=curves.get(("profit_curve", str(r["level"])), []),
        )
        for r in levels
    ]
    customers = [_customer(r) for r in by_kind.get("customer", [])]
    customers.sort(key=lambda c: (_level_order(c.level), c.sales_rank))
    return ParetoReport(
        as_of=as_of,
        computed_at=computed_at,
        share=rules.pareto_share_bp / BASIS_POINTS,
        levels=summaries,
        customers=customers,
        total_customers=sum(as_int(r["n_segment"]) for r in levels),
    )


def _customer(r: Row) -> ParetoCustomer:
    sales, profit = as_int(r["sales"]), as_opt(r["profit"])
    level_sales, level_profit = as_int(r["level_sales"]), as_opt(r["level_profit"])
    return ParetoCustomer(
        level=str(r["level"]),
        kind=str(r["kind"]),
        id=str(r["ref"]),
        name=None if r["name"] is None else str(r["name"]),
        purchases=as_int(r["purchases"]),
        sales_fen=sales,
        profit_fen=profit,
        missing_cost_purchases=as_int(r["missing_n"]),
        missing_cost_sales_fen=as_int(r["missing_fen"]),
        sales_rank=as_int(r["sales_rank"]),
        sales_share=share_of(sales, level_sales) or 0.0,
        cumulative_sales_share=share_of(as_int(r["sales_before"]) + sales, level_sales) or 0.0,
        profit_rank=as_int(r["profit_rank"]),
        profit_share=share_of(profit, level_profit),
        cumulative_profit_share=(
            None if profit is None else share_of(as_int(r["profit_before"]) + profit, level_profit)
        ),
        key_by_sales=bool(as_int(r["key_sales"])),
        key_by_profit=bool(as_int(r["key_profit"])),
        rising=bool(as_int(r["rising"])),
        segment=str(r["segment"]),
    )


def _level_order(level: str) -> int:
    order = [lvl.value for lvl in ChannelLevel]
    return order.index(level) if level in order else len(order)
