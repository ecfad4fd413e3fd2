"""The RFM report: members by recency, frequency and monetary score (from the value-refresh).

The grid counts members, spend and profit per (R, F) cell, with each score's distribution; the
rows are the members with their scores, best first (R + F + M, then spend).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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


@dataclass(frozen=True)
class RfmCell:
    r: int
    f: int
    members: int
    monetary_fen: int
    profit_fen: int | None


@dataclass(frozen=True)
class ScoreCount:
    score: int
    members: int
    monetary_fen: int


@dataclass(frozen=True)
class RfmReport:
    as_of: date | None
    """The day of the value-refresh these scores come from (None: it has not run)."""
    members: int
    bins: int
    cells: list[RfmCell]
    r_scores: list[ScoreCount]
    f_scores: list[ScoreCount]
    m_scores: list[ScoreCount]
    rows: list[MemberValueRow]


BEST = "mv.r_score + mv.f_score + mv.m_score DESC, mv.monetary_fen DESC, mv.member_id"


def _best(row: Row) -> tuple[int, int, int]:
    return (
        -(row["r_score"] + row["f_score"] + row["m_score"]),
        -row["monetary_fen"],
        row["member_id"],
    )


async def rfm_report(flt: ReportFilter, bins: int, *, limit: int, offset: int) -> RfmReport:
    """One query: the (R, F, M) groups (at most bins^3 rows; the grid and each score's
    distribution are sums of them) and a page of members, best first."""
    found = await fetch(
        value_report_sql(
            flt,
            group_by=("r_score", "f_score", "m_score"),
            figures={},
            page_where="1 = 1",
            order=BEST,
        ),
        {**population_params(flt), "limit": limit, "offset": offset},
        conn=read_connection(),
    )
    groups = group_rows(found)
    cells_by: dict[tuple[int, int], tuple[int, int, int | None]] = {}
    m_by: dict[int, tuple[int, int]] = {}
    for g in groups:
        r, f, m = int(g["r_score"]), int(g["f_score"]), int(g["m_score"])
        n, money = int(g["members"]), int(g["monetary_fen"] or 0)
        profit = None if g["profit_fen"] is None else int(g["profit_fen"])
        members, spend, gain = cells_by.get((r, f), (0, 0, None))
        total = gain if profit is None else (gain or 0) + profit
        cells_by[(r, f)] = (members + n, spend + money, total)
        m_members, m_spend = m_by.get(m, (0, 0))
        m_by[m] = (m_members + n, m_spend + money)
    cells = [
        RfmCell(r=r, f=f, members=n, monetary_fen=money, profit_fen=profit)
        for (r, f), (n, money, profit) in sorted(
            cells_by.items(), key=lambda i: (-i[0][0], -i[0][1])
        )
    ]
    days = [as_date(g["day"]) for g in groups if g["day"] is not None]
    return RfmReport(
        as_of=max(days) if days else None,
        members=sum(c.members for c in cells),
        bins=bins,
        cells=cells,
        r_scores=_scores(cells, lambda c: c.r),
        f_scores=_scores(cells, lambda c: c.f),
        m_scores=[ScoreCount(m, n, money) for m, (n, money) in sorted(m_by.items(), reverse=True)],
        rows=page_rows(found, _best),
    )


def _scores(cells: list[RfmCell], key: Callable[[RfmCell], int]) -> list[ScoreCount]:
    totals: dict[int, tuple[int, int]] = {}
    for cell in cells:
        score = key(cell)
        members, money = totals.get(score, (0, 0))
        totals[score] = (members + cell.members, money + cell.monetary_fen)
    return [ScoreCount(s, m, f) for s, (m, f) in sorted(totals.items(), reverse=True)]
