"""Query and answer shapes of the report routes (`/api/v1/reports/...`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from bot.staff_api.schemas import ONE_LINE, In, Out
from club.reports.pareto_rows import Segment
from club.rules.channels import ChannelLevel

StoreId = Annotated[str, Field(min_length=1, max_length=32), ONE_LINE]


class ReportQuery(In):
    level: ChannelLevel | None = Field(
        default=None, description="Only this channel level (customers are compared within one)"
    )
    store: StoreId | None = Field(default=None, description="Only purchases at this store")
    from_: date | None = Field(
        default=None,
        alias="from",
        description="First day of the period (YYYY-MM-DD); default: the programme's value "
        "months before `to`",
    )
    to: date | None = Field(default=None, description="Last day of the period; default: today")
    format: Literal["json", "csv"] = Field(
        default="json", description="`csv`: the rows as UTF-8 CSV with a BOM, for Excel"
    )


class PageQuery(ReportQuery):
    limit: int = Field(default=100, ge=1, le=100_000, description="Rows per page")
    offset: int = Field(default=0, ge=0, le=10_000_000)


class PeriodOut(Out):
    start: date
    end: date
    level: str | None
    store: str | None


class ParetoQuery(PageQuery):
    segment: Segment = Field(
        default=Segment.ALL,
        description="Which customers to list: key (by sales or profit), both, sales_only (big "
        "in sales, thin in profit), profit_only, potential, other, all",
    )


class CurvePointOut(Out):
    customers: float
    value: float


class ParetoLevelOut(Out):
    level: str
    customers: int
    purchases: int
    sales_fen: int
    profit_fen: int | None = Field(description="Of the purchases with a cost")
    missing_cost_purchases: int
    missing_cost_sales_fen: int = Field(description="Sales without a cost: not in the profit")
    key_by_sales: int
    key_by_profit: int
    both: int
    sales_only: int
    profit_only: int
    potential: int
    share_of_store_sales: float | None
    share_of_store_profit: float | None
    sales_curve: list[CurvePointOut]
    profit_curve: list[CurvePointOut]


class ParetoCustomerOut(Out):
    level: str
    kind: Literal["member", "store", "account"]
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


class ParetoOut(Out):
    period: PeriodOut
    share: float
    levels: list[ParetoLevelOut]
    customers: list[ParetoCustomerOut]
    total_customers: int
