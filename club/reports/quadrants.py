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
    MemberValueRow,
    as_date,
    group_rows,
    page_rows,
    population_params,
    value_report_sql,
)
from club.reports.sql import Row, fetch, read_connection

BEST = (
    "CASE WHEN mv.profit_fen IS NULL THEN 1 ELSE 0 END, mv.profit_fen DESC, mv.monetary_fen DESC,"
    " mv.member_id"
)
"""The page's order: most profitable first (missing profit last), then spend."""


def _best(row: Row) -> tuple[bool, int, int, int]:
    profit = row["profit_fen"]
    return (profit is None, -(profit or 0), -row["monetary_fen"], row["member_id"])


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
    figures = {
        "rising": "SUM(CASE WHEN potential = 'rising' THEN 1 ELSE 0 END)",
        "near_tier": "SUM(CASE WHEN potential = 'near_tier' THEN 1 ELSE 0 END)",
    }
    only = "1 = 1" if quadrant is None else "mv.quadrant = :quadrant"
    sql = value_report_sql(
        flt, group_by=("quadrant",), figures=figures, page_where=only, order=BEST
    )
    values = {**population_params(flt), "limit": limit, "offset": offset}
    if quadrant is not None:
        values["quadrant"] = quadrant.value
    found = await fetch(sql, values, conn=read_connection())
    summary_rows = group_rows(found)
    order = [q.value for q in Quadrant]
    return QuadrantsReport(
        as_of=max((as_date(r["day"]) for r in summary_rows), default=None),
        quadrants=sorted(
            (
                QuadrantSummary(
                    quadrant=str(r["quadrant"]),
                    members=int(r["members"]),
                    rising=int(r["rising"]),
                    near_tier=int(r["near_tier"]),
                    monetary_fen=int(r["monetary_fen"] or 0),
                    profit_fen=None if r["profit_fen"] is None else int(r["profit_fen"]),
                )
                for r in summary_rows
            ),
            key=lambda q: order.index(q.quadrant) if q.quadrant in order else len(order),
        ),
        rows=page_rows(found, _best),
    )
