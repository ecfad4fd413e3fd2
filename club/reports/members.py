"""What the reports over stored member values share: who is in, and a member's value row.

The value-refresh keeps one row per member who ever bought (`member_value`). A report asked for
a channel level, a store or a period keeps the members who bought there and then; otherwise it
covers every valued member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from club.reports.filters import ReportFilter
from club.reports.sql import Row
from club.rules.channels import ChannelLevel


def population(flt: ReportFilter, member: str = "mv.member_id") -> str:
    """A condition on `member` (a member id column); parameters as `population_params`."""
    if not flt.narrowed:
        return "1 = 1"
    where = f"p.member_id = {member} AND p.created_at >= :start AND p.created_at < :end"
    if flt.store is not None:
        where += " AND p.store_id = :store"
    if flt.level is not None and flt.level != ChannelLevel.CONSUMER:
        where += " AND p.channel_level = :level"
    return f"EXISTS (SELECT 1 FROM purchase p WHERE {where})"


def population_params(flt: ReportFilter) -> dict[str, object]:
    values: dict[str, object] = {}
    if flt.narrowed:
        values.update(start=flt.start, end=flt.end)
    if flt.store is not None:
        values["store"] = flt.store
    if flt.level is not None and flt.level != ChannelLevel.CONSUMER:
        values["level"] = flt.level.value
    return values


VALUE_COLUMNS = (
    "mv.member_id, m.name, m.tier, mv.value_class, mv.quadrant, mv.potential, mv.r_score,"
    " mv.f_score, mv.m_score, mv.recency_days, mv.frequency, mv.monetary_fen, mv.profit_fen,"
    " mv.missing_cost_purchases, mv.last_purchase_at, mv.day"
)
"""Select from `member_value mv JOIN member m ON m.id = mv.member_id`."""


@dataclass(frozen=True)
class MemberValueRow:
    member_id: int
    name: str | None
    tier: str | None
    value_class: str
    quadrant: str
    potential: str | None
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


def as_datetime(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def value_row(row: Row) -> MemberValueRow:
    profit = row["profit_fen"]
    return MemberValueRow(
        member_id=int(row["member_id"]),
        name=row["name"],
        tier=row["tier"],
        value_class=str(row["value_class"]),
        quadrant=str(row["quadrant"]),
        potential=row["potential"],
        r_score=int(row["r_score"]),
        f_score=int(row["f_score"]),
        m_score=int(row["m_score"]),
        recency_days=int(row["recency_days"]),
        frequency=int(row["frequency"]),
        monetary_fen=int(row["monetary_fen"]),
        profit_fen=None if profit is None else int(profit),
        missing_cost_purchases=int(row["missing_cost_purchases"]),
        last_purchase_at=as_datetime(row["last_purchase_at"]),
        as_of=as_date(row["day"]),
    )
