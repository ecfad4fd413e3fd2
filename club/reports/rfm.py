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
    VALUE_COLUMNS,
    MemberValueRow,
    as_date,
    population,
    population_params,
    value_row,
)
from club.reports.sql import fetch, read_connection


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


async def rfm_report(flt: ReportFilter, bins: int, *, limit: int, offset: int) -> RfmReport:
    conn = read_connection()
    where = population(flt)
    params = population_params(flt)
    # One pass over the members: (R, F, M) groups, at most bins^3 rows; the grid and each
    # score's distribution are sums of them.
    groups = await fetch(
        "SELECT r_score, f_score, m_score, COUNT(*) AS members, SUM(monetary_fen) AS monetary,"
        " SUM(profit_fen) AS profit, MAX(day) AS as_of"
        f" FROM member_value mv WHERE {where} GROUP BY r_score, f_score, m_score",
        params,
        conn=conn,
    )
    rows = await fetch(
        f"SELECT {VALUE_COLUMNS} FROM member_value mv JOIN member m ON m.id = mv.member_id"
        f" WHERE {where} ORDER BY mv.r_score + mv.f_score + mv.m_score DESC,"
        " mv.monetary_fen DESC, mv.member_id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
        conn=conn,
    )
    cells_by: dict[tuple[int, int], tuple[int, int, int | None]] = {}
    m_by: dict[int, tuple[int, int]] = {}
    for g in groups:
        r, f, m = int(g["r_score"]), int(g["f_score"]), int(g["m_score"])
        n, money = int(g["members"]), int(g["monetary"] or 0)
        profit = None if g["profit"] is None else int(g["profit"])
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
    days = [as_date(g["as_of"]) for g in groups if g["as_of"] is not None]
    return RfmReport(
        as_of=max(days) if days else None,
        members=sum(c.members for c in cells),
        bins=bins,
        cells=cells,
        r_scores=_scores(cells, lambda c: c.r),
        f_scores=_scores(cells, lambda c: c.f),
        m_scores=[ScoreCount(m, n, money) for m, (n, money) in sorted(m_by.items(), reverse=True)],
        rows=[value_row(r) for r in rows],
    )


def _scores(cells: list[RfmCell], key: Callable[[RfmCell], int]) -> list[ScoreCount]:
    totals: dict[int, tuple[int, int]] = {}
    for cell in cells:
        score = key(cell)
        members, money = totals.get(score, (0, 0))
        totals[score] = (members + cell.members, money + cell.monetary_fen)
    return [ScoreCount(s, m, f) for s, (m, f) in sorted(totals.items(), reverse=True)]
