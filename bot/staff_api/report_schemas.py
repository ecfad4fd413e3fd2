"""Query and answer shapes of the report routes (`/api/v1/reports/...`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from bot.staff_api.schemas import ONE_LINE, In, Out
from club.dates import CALENDAR, Day
from club.reports.churn import Reason
from club.reports.classes import ChangeKind
from club.reports.pareto_rows import Segment
from club.reports.quadrants import Quadrant
from club.rules.channels import ChannelLevel

StoreId = Annotated[str, Field(min_length=1, max_length=32), ONE_LINE]


class ReportQuery(In):
    level: ChannelLevel | None = Field(
        default=None, description="Only this channel level (customers are compared within one)"
    )
    store: StoreId | None = Field(default=None, description="Only purchases at this store")
    from_: Day | None = Field(
        default=None,
        alias="from",
        description=f"First day of the period (YYYY-MM-DD, {CALENDAR}); default: the "
        "programme's value months before `to`",
    )
    to: Day | None = Field(default=None, description="Last day of the period; default: today")
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


class AnswerOut(Out):
    computed_at: datetime = Field(
        description="When this answer was computed: the default parameters are answered from "
        "the answer computed after the day's churn-scan (or a value-refresh), others when asked"
    )


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
    accounts: int = Field(description="Group-purchase accounts (key customers by definition)")
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


class RankingPendingOut(Out):
    status: str = Field(description="`ranking`: the period's customers are being ranked")
    message: str
    period: PeriodOut
    started_at: datetime = Field(description="When the ranking began")
    retry_after: int = Field(description="Seconds to wait before asking again (as Retry-After)")


class ParetoOut(AnswerOut):
    period: PeriodOut
    as_of: date | None = Field(
        description="The day of the kept ranking this answer reads (the value-refresh's for the "
        "default period; another period's is ranked by its first request and kept for the day, "
        "so its later pages, lists and levels answer at once; `computed_at` says when); null: "
        "one store's purchases, ranked for this request"
    )
    share: float
    levels: list[ParetoLevelOut]
    customers: list[ParetoCustomerOut]
    total_customers: int


class MemberValueOut(Out):
    member_id: int
    name: str | None
    tier: str | None
    value_class: str = Field(description="A, B or C by cumulative share of profit")
    quadrant: str = Field(description="grow, keep, develop (potential key) or economise")
    potential: str | None = Field(description="rising, near_tier, or none")
    r_score: int
    f_score: int
    m_score: int
    recency_days: int
    frequency: int
    monetary_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    last_purchase_at: datetime
    as_of: date


class ScoreCountOut(Out):
    score: int
    members: int
    monetary_fen: int


class RfmCellOut(Out):
    r: int
    f: int
    members: int
    monetary_fen: int
    profit_fen: int | None


class RfmOut(AnswerOut):
    period: PeriodOut
    as_of: date | None = Field(description="The value-refresh day the scores come from")
    members: int
    bins: int
    cells: list[RfmCellOut]
    r_scores: list[ScoreCountOut]
    f_scores: list[ScoreCountOut]
    m_scores: list[ScoreCountOut]
    rows: list[MemberValueOut]


class ClassesQuery(PageQuery):
    change: ChangeKind = Field(
        default=ChangeKind.MOVED,
        description="Which class changes of the period to list: moved (up or down), down, up, "
        "new (first valuation), all",
    )


class ClassSummaryOut(Out):
    value_class: str
    members: int
    monetary_fen: int
    profit_fen: int | None
    profit_share: float | None


class ChangeCountOut(Out):
    from_class: str | None
    to_class: str
    members: int


class ClassChangeOut(Out):
    member_id: int
    name: str | None
    day: date
    from_class: str | None
    to_class: str
    current_class: str | None


class ClassesOut(AnswerOut):
    period: PeriodOut
    as_of: date | None
    classes: list[ClassSummaryOut]
    changes: list[ChangeCountOut]
    rows: list[ClassChangeOut]


class QuadrantsQuery(PageQuery):
    quadrant: Quadrant | None = Field(
        default=None, description="List only this quadrant's members (develop: potential key)"
    )


class QuadrantSummaryOut(Out):
    quadrant: str
    members: int
    rising: int
    near_tier: int
    monetary_fen: int
    profit_fen: int | None


class QuadrantsOut(AnswerOut):
    period: PeriodOut
    as_of: date | None
    quadrants: list[QuadrantSummaryOut]
    rows: list[MemberValueOut]


class ChurnQuery(PageQuery):
    reason: Reason = Field(
        default=Reason.ALL, description="silent (beyond their rhythm), spend_fell, or all"
    )


class ChurnGroupOut(Out):
    by: str = Field(description="class or tier")
    key: str | None
    members: int


class ChurnRowOut(Out):
    member_id: int
    name: str | None
    tier: str | None
    value_class: str | None
    since: date = Field(description="First day of this run of flags")
    purchases: int
    rhythm_days: int | None = Field(description="Median gap between purchases")
    silence_days: int
    spend_fen: int = Field(description="Net spend in the last 12 months")
    spend_before_fen: int = Field(description="Net spend in the 12 months before")
    silent: bool
    spend_fell: bool
    reason_zh: str
    reason_en: str


class ChurnOut(AnswerOut):
    period: PeriodOut
    as_of: date | None = Field(description="The churn-scan day the flags come from")
    flagged: int
    silent: int
    spend_fell: int
    new_in_period: int
    groups: list[ChurnGroupOut]
    rows: list[ChurnRowOut]


class ExitCellOut(Out):
    month: str
    kind: str = Field(description="unfollow or dormant")
    tier: str | None
    channel: str = Field(
        description="The channel level of the store whose QR code brought the member, `staff` "
        "for a clerk's code, `direct` otherwise"
    )
    exits: int
    avg_tenure_days: int
    never_purchased: int
    purchase_90d: int
    failed_code_7d: int
    cancelled_redemption_30d: int
    complaint_30d: int


class CountOut(Out):
    key: str | None
    exits: int


class ExitsOut(AnswerOut):
    period: PeriodOut
    exits: int
    unfollows: int
    dormant: int
    by_class: list[CountOut]
    by_tenure: list[CountOut]
    signals: list[CountOut]
    cells: list[ExitCellOut]


class ChannelRowOut(Out):
    kind: Literal["store", "staff"]
    ref: str
    name: str | None
    level: str | None
    members: int = Field(description="Brought in by this code up to the end of the period")
    new_members: int = Field(description="Brought in within the period")
    following: int
    retention: float = Field(description="Share of the members brought in who still follow")
    buyers: int = Field(description="Members who bought in the period")
    sales_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    sales_per_member_fen: int


class ChannelsOut(AnswerOut):
    period: PeriodOut
    rows: list[ChannelRowOut]


class TierRowOut(Out):
    tier: str
    name: str
    members: int = Field(description="Club members of this tier (joined, not erased)")
    following: int
    buyers: int = Field(description="Members who bought in the period")
    sales_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    sales_share: float | None
    profit_share: float | None
    sales_per_member_fen: int
    class_a: int
    class_b: int
    class_c: int
    churn_risk: int = Field(description="Members on today's churn list")


class TiersOut(AnswerOut):
    period: PeriodOut
    rows: list[TierRowOut]
