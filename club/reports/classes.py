"""The A/B/C report: each class's members, spend and profit, and who changed class when.

Classes come from the value-refresh; the changes listed are those recorded on the days of the
period (a member falling from A to B is news), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from club.reports.filters import ReportFilter
from club.reports.members import as_date, population, population_params
from club.reports.sql import fetch, read_connection


class ChangeKind(StrEnum):
    MOVED = "moved"
    """Up or down (not the first valuation)."""
    DOWN = "down"
    UP = "up"
    NEW = "new"
    """Valued for the first time."""
    ALL = "all"


_CHANGE_WHERE = {
    ChangeKind.MOVED: "c.from_class IS NOT NULL",
    ChangeKind.DOWN: "c.from_class IS NOT NULL AND c.from_class < c.to_class",
    ChangeKind.UP: "c.from_class IS NOT NULL AND c.from_class > c.to_class",
    ChangeKind.NEW: "c.from_class IS NULL",
    ChangeKind.ALL: "1 = 1",
}


@dataclass(frozen=True)
class ClassSummary:
    value_class: str
    members: int
    monetary_fen: int
    profit_fen: int | None
    profit_share: float | None
    """Of the profit of all profitable members in the report."""


@dataclass(frozen=True)
class ChangeCount:
    from_class: str | None
    to_class: str
    members: int


@dataclass(frozen=True)
class ClassChangeRow:
    member_id: int
    name: str | None
    day: date
    from_class: str | None
    to_class: str
    current_class: str | None


@dataclass(frozen=True)
class ClassesReport:
    as_of: date | None
    classes: list[ClassSummary]
    changes: list[ChangeCount]
    rows: list[ClassChangeRow]


async def classes_report(
    flt: ReportFilter, *, change: ChangeKind, limit: int, offset: int
) -> ClassesReport:
    conn = read_connection()
    params = population_params(flt)
    summary = await fetch(
        "SELECT value_class, COUNT(*) AS members, SUM(monetary_fen) AS monetary,"
        " SUM(profit_fen) AS profit, SUM(CASE WHEN profit_fen > 0 THEN profit_fen ELSE 0 END)"
        f" AS gain, MAX(day) AS as_of FROM member_value mv WHERE {population(flt)}"
        " GROUP BY value_class ORDER BY value_class",
        params,
        conn=conn,
    )
    in_period = "c.day >= :start_day AND c.day <= :end_day"
    where = f"{in_period} AND {population(flt, 'c.member_id')}"
    days = {"start_day": flt.start_day, "end_day": flt.end_day}
    counts = await fetch(
        "SELECT c.from_class, c.to_class, COUNT(*) AS members FROM value_class_change c"
        f" WHERE {where} GROUP BY c.from_class, c.to_class",
        {**params, **days},
        conn=conn,
    )
    rows = await fetch(
        "SELECT c.member_id, m.name, c.day, c.from_class, c.to_class, mv.value_class AS current"
        " FROM value_class_change c JOIN member m ON m.id = c.member_id"
        " LEFT JOIN member_value mv ON mv.member_id = c.member_id"
        f" WHERE {where} AND {_CHANGE_WHERE[change]}"
        " ORDER BY c.day DESC, c.member_id LIMIT :limit OFFSET :offset",
        {**params, **days, "limit": limit, "offset": offset},
        conn=conn,
    )
    gain = sum(int(r["gain"] or 0) for r in summary)
    return ClassesReport(
        as_of=max((as_date(r["as_of"]) for r in summary), default=None),
        classes=[
            ClassSummary(
                value_class=str(r["value_class"]),
                members=int(r["members"]),
                monetary_fen=int(r["monetary"] or 0),
                profit_fen=None if r["profit"] is None else int(r["profit"]),
                profit_share=round(int(r["gain"] or 0) / gain, 6) if gain else None,
            )
            for r in summary
        ],
        changes=sorted(
            (ChangeCount(c["from_class"], str(c["to_class"]), int(c["members"])) for c in counts),
            key=lambda c: (c.from_class or "", c.to_class),
        ),
        rows=[
            ClassChangeRow(
                member_id=int(r["member_id"]),
                name=r["name"],
                day=as_date(r["day"]),
                from_class=r["from_class"],
                to_class=str(r["to_class"]),
                current_class=r["current"],
            )
            for r in rows
        ],
    )
