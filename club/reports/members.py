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


def valued_members(flt: ReportFilter) -> tuple[str, str]:
    """(a `WITH` prefix, a FROM source `member_value mv`) for a one-query report over the
    valued members `flt` covers: asked for a level, store or period, the members who bought
    there and then are found once (`pop`, materialized) for all of the query's parts. Finding
    them is what such a report costs (a million index probes at a million members), and each
    part of a report used to find them again."""
    if not flt.narrowed:
        return "", "member_value mv"
    prefix = (
        "WITH pop AS MATERIALIZED (SELECT mv.member_id FROM member_value mv"
        f" WHERE {population(flt)}) "
    )
    return prefix, "member_value mv JOIN pop ON pop.member_id = mv.member_id"


VALUE_ROW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("member_id", "BIGINT"),
    ("name", "VARCHAR(64)"),
    ("tier", "VARCHAR(32)"),
    ("value_class", "VARCHAR(1)"),
    ("quadrant", "VARCHAR(16)"),
    ("potential", "VARCHAR(16)"),
    ("r_score", "INTEGER"),
    ("f_score", "INTEGER"),
    ("m_score", "INTEGER"),
    ("recency_days", "INTEGER"),
    ("frequency", "INTEGER"),
    ("monetary_fen", "BIGINT"),
    ("profit_fen", "BIGINT"),
    ("missing_cost_purchases", "INTEGER"),
    ("last_purchase_at", "TIMESTAMPTZ"),
    ("day", "DATE"),
)
"""`VALUE_COLUMNS` with their SQL types, for a report's tagged rows (`union_rows`)."""


def value_page(source: str, where: str, order: str) -> tuple[str, dict[str, str]]:
    """The branch of tagged rows (`union_rows`) that is a page of member value rows from
    `source` (`member_value mv` ...) `where`, in `order`, `:limit` rows from `:offset`."""
    tail = (
        f"FROM (SELECT {VALUE_COLUMNS} FROM {source} JOIN member m ON m.id = mv.member_id"
        f" WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset) AS page"
    )
    return tail, {name: f"page.{name}" for name, _ in VALUE_ROW_COLUMNS}


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
