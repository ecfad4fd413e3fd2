"""The value x potential report: the four quadrants and who is in each.

Value today is the class (A high, B and C low); potential tomorrow is rising spend or a tier
within reach (see `club.value.refresh`). `develop` holds the potential key customers, who get
the next-best service; `economise` is served at low cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from club.reports.filters import ReportFilter
from club.reports.members import (
    VALUE_COLUMNS,
    MemberValueRow,
    as_date,
    population,
    population_params,
    value_row,
)
from club.reports.sql import fetch, read_connection


class Quadrant(StrEnum):
    GROW = "grow"
    """High value, high potential: develop further."""
    KEEP = "keep"
    """High value, no sign of more: keep them."""
    DEVELOP = "develop"
    """Low value today, potential tomorrow: the potential key customers."""
    ECONOMISE = "economise"
    """Low value, no potential: serve at low cost."""


@dataclass(frozen=True)
class QuadrantSummary:
    quadrant: str
    members: int
    rising: int
    near_tier: int
    monetary_fen: int
    profit_fen: int | None


@dataclass(frozen=True)
class QuadrantsReport:
    as_of: date | None
    quadrants: list[QuadrantSummary]
    rows: list[MemberValueRow]


async def quadrants_report(
    flt: ReportFilter, *, quadrant: Quadrant | None, limit: int, offset: int
) -> QuadrantsReport:
    conn = read_connection()
    where = population(flt)
    params = population_params(flt)
    summary = await fetch(
        "SELECT quadrant, COUNT(*) AS members,"
        " SUM(CASE WHEN potential = 'rising' THEN 1 ELSE 0 END) AS rising,"
        " SUM(CASE WHEN potential = 'near_tier' THEN 1 ELSE 0 END) AS near_tier,"
        " SUM(monetary_fen) AS monetary, SUM(profit_fen) AS profit, MAX(day) AS as_of"
        f" FROM member_value mv WHERE {where} GROUP BY quadrant",
        params,
        conn=conn,
    )
    only = "" if quadrant is None else " AND mv.quadrant = :quadrant"
    page = {**params, "limit": limit, "offset": offset}
    if quadrant is not None:
        page["quadrant"] = quadrant.value
    rows = await fetch(
        f"SELECT {VALUE_COLUMNS} FROM member_value mv JOIN member m ON m.id = mv.member_id"
        f" WHERE {where}{only} ORDER BY CASE WHEN mv.profit_fen IS NULL THEN 1 ELSE 0 END,"
        " mv.profit_fen DESC, mv.monetary_fen DESC, mv.member_id LIMIT :limit OFFSET :offset",
        page,
        conn=conn,
    )
    order = [q.value for q in Quadrant]
    return QuadrantsReport(
        as_of=max((as_date(r["as_of"]) for r in summary), default=None),
        quadrants=sorted(
            (
                QuadrantSummary(
                    quadrant=str(r["quadrant"]),
                    members=int(r["members"]),
                    rising=int(r["rising"]),
                    near_tier=int(r["near_tier"]),
                    monetary_fen=int(r["monetary"] or 0),
                    profit_fen=None if r["profit"] is None else int(r["profit"]),
                )
                for r in summary
            ),
            key=lambda q: order.index(q.quadrant) if q.quadrant in order else len(order),
        ),
        rows=[value_row(r) for r in rows],
    )
