"""What the reports over stored member values share: who is in, and a member's value row.

The value-refresh keeps one row per member who ever bought (`member_value`). A report asked for
a channel level, a store or a period keeps the members who bought there and then; otherwise it
covers every valued member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from club.reports.filters import ReportFilter
from club.reports.sql import Row, union_rows
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
    """(a `WITH` prefix, a FROM source named `mv`) for a one-query report over the valued
    members `flt` covers: asked for a level, store or period, the value rows of the members who
    bought there and then are found once (`pop`, materialized) for all of the query's parts.
    Finding them is what such a report costs (a million index probes at a million members),
    and each part of a report used to find them again."""
    if not flt.narrowed:
        return "", "member_value mv"
    prefix = f"WITH pop AS MATERIALIZED (SELECT * FROM member_value mv WHERE {population(flt)}) "
    return prefix, "pop mv"


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


def value_report_sql(
    flt: ReportFilter,
    *,
    group_by: Sequence[str],
    figures: Mapping[str, str],
    page_where: str,
    order: str,
) -> str:
    """One query over the valued members `flt` covers, as tagged rows (`row_kind`): `group`
    rows (the `group_by` columns, `members`, `monetary_fen`, `profit_fen`, the latest `day`
    and the extra BIGINT `figures`), and `member` rows, the value rows of a page (`:limit`
    from `:offset`) of the members `page_where` in `order` (which `page_rows` puts back).
    Parameters: `population_params(flt)`, limit and offset."""
    prefix, source = valued_members(flt)
    groups = {
        "row_kind": "'group'",
        **{column: column for column in group_by},
        "members": "COUNT(*)",
        "monetary_fen": "SUM(monetary_fen)",
        "profit_fen": "SUM(profit_fen)",
        "day": "MAX(day)",
        **figures,
    }
    page = {name: f"page.{name}" for name, _ in VALUE_ROW_COLUMNS}
    page["row_kind"] = "'member'"
    # The page is cut before the members' names are joined: 100 rows to look up, not all.
    page_tail = (
        f"FROM (SELECT {VALUE_COLUMNS} FROM (SELECT * FROM {source} WHERE {page_where}"
        f" ORDER BY {order} LIMIT :limit OFFSET :offset) AS mv"
        " JOIN member m ON m.id = mv.member_id) AS page"
    )
    columns = (
        ("row_kind", "VARCHAR(8)"),
        *VALUE_ROW_COLUMNS,
        ("members", "BIGINT"),
        *((name, "BIGINT") for name in figures),
    )
    body = union_rows(
        columns,
        [(f"FROM {source} GROUP BY {', '.join(group_by)}", groups), (page_tail, page)],
    )
    return prefix + body


def group_rows(found: Sequence[Row]) -> list[Row]:
    return [r for r in found if r["row_kind"] == "group"]


def page_rows(found: Sequence[Row], order: Callable[[Row], Any]) -> list[MemberValueRow]:
    """The page's value rows, put back in the order they were cut in (a union keeps none)."""
    return [
        value_row(r) for r in sorted((r for r in found if r["row_kind"] == "member"), key=order)
    ]


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
