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
    VALUE_ROW_COLUMNS,
    MemberValueRow,
    as_date,
    population_params,
    value_page,
    value_row,
    valued_members,
)
from club.reports.sql import fetch, read_connection, union_rows

BEST = (
    "CASE WHEN mv.profit_fen IS NULL THEN 1 ELSE 0 END, mv.profit_fen DESC, mv.monetary_fen DESC,"
    " mv.member_id"
)
"""The page's order: most profitable first (missing profit last), then spend."""


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
    prefix, source = valued_members(flt)
    summary = {
        "row_kind": "'quadrant'",
        "quadrant": "quadrant",
        "members": "COUNT(*)",
        "rising": "SUM(CASE WHEN potential = 'rising' THEN 1 ELSE 0 END)",
        "near_tier": "SUM(CASE WHEN potential = 'near_tier' THEN 1 ELSE 0 END)",
        "monetary_fen": "SUM(monetary_fen)",
        "profit_fen": "SUM(profit_fen)",
        "day": "MAX(day)",
    }
    only = "1 = 1" if quadrant is None else "mv.quadrant = :quadrant"
    page_tail, page = value_page(source, only, BEST)
    columns = (
        ("row_kind", "VARCHAR(8)"),
        *VALUE_ROW_COLUMNS,
        ("members", "BIGINT"),
        ("rising", "BIGINT"),
        ("near_tier", "BIGINT"),
    )
    sql = prefix + union_rows(
        columns,
        [
            (f"FROM {source} GROUP BY quadrant", summary),
            (page_tail, {**page, "row_kind": "'member'"}),
        ],
    )
    values = {**population_params(flt), "limit": limit, "offset": offset}
    if quadrant is not None:
        values["quadrant"] = quadrant.value
    found = await fetch(sql, values, conn=read_connection())
    summary_rows = [r for r in found if r["row_kind"] == "quadrant"]
    # A union keeps no order: the page is put back in the order it was cut in.
    rows = sorted(
        (r for r in found if r["row_kind"] == "member"),
        key=lambda r: (
            r["profit_fen"] is None,
            -(r["profit_fen"] or 0),
            -r["monetary_fen"],
            r["member_id"],
        ),
    )
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
        rows=[value_row(r) for r in rows],
    )
