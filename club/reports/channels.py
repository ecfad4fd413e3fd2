"""Channel performance: per store and per clerk QR code, the members brought in and their worth.

A member's source is the QR code of their first follow (`store_<id>` or `staff_<id>`). Per
source: the members it brought in up to the end of the period (and how many within it), how
many still follow (retention), how many bought in the period, and their sales and profit there
(wherever they bought; orders booked to a group account are the organisation's). For the
default period the members' sales come from the value-refresh's snapshot. So a brand can reward
the stores and clerks who bring valuable members, not only many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from club.reports import profit as money
from club.reports.filters import ReportFilter
from club.reports.rankings import kept_ranking
from club.reports.sql import Dialect, fetch, read_connection
from club.rules.programme import ValueRules


@dataclass(frozen=True)
class ChannelRow:
    kind: str
    """`store` or `staff`."""
    ref: str
    name: str | None
    level: str | None
    """The store's channel level now (None for a clerk)."""
    members: int
    new_members: int
    """Brought in within the period."""
    following: int
    retention: float
    """Share of the members brought in who still follow."""
    buyers: int
    sales_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    sales_per_member_fen: int


def _bought(rules: ValueRules, stored: bool) -> str:
    """Each brought-in member's sales, profit and uncosted purchases in the period: from the
    value-refresh's snapshot for the default period, else from the purchases. Orders booked to
    a group account are the organisation's, not the member's, either way."""
    if stored:
        return (
            "SELECT cv.member_id, cv.sales, cv.profit, cv.missing_n FROM customer_value cv"
            " JOIN brought b ON b.id = cv.member_id"
            " WHERE cv.ranking_id = :ranking AND cv.level = 'consumer' AND cv.kind = 'member'"
        )
    return (
        f"SELECT p.member_id, SUM({money.net()}) AS sales, SUM({money.profit(rules)}) AS profit,"
        f" SUM({money.missing_cost()}) AS missing_n"
        " FROM purchase p JOIN brought b ON b.id = p.member_id"
        " WHERE p.created_at >= :start AND p.created_at < :end AND p.account_id IS NULL"
        " GROUP BY p.member_id"
    )


def _sql(flt: ReportFilter, rules: ValueRules, dialect: Dialect, stored: bool) -> str:
    where = "m.source_kind IN ('store', 'staff') AND m.source_at < :end"
    if flt.store is not None:
        where += " AND m.source_kind = 'store' AND m.source_ref = :store"
    level = ""
    if flt.level is not None:
        level = " WHERE s.channel_level = :level"
    staff_id = dialect.text("u.id")
    return f"""
WITH brought AS (
  SELECT m.id, m.source_kind, m.source_ref, m.source_at, m.status FROM member m WHERE {where}
),
bought AS ({_bought(rules, stored)}),
sources AS (
  SELECT b.source_kind, b.source_ref, COUNT(*) AS members,
    SUM(CASE WHEN b.source_at >= :start THEN 1 ELSE 0 END) AS new_members,
    SUM(CASE WHEN b.status = 'active' THEN 1 ELSE 0 END) AS following,
    SUM(CASE WHEN x.member_id IS NULL THEN 0 ELSE 1 END) AS buyers,
    SUM(x.sales) AS sales, SUM(x.profit) AS profit, SUM(x.missing_n) AS missing_n
  FROM brought b LEFT JOIN bought x ON x.member_id = b.id GROUP BY b.source_kind, b.source_ref
)
SELECT src.*, COALESCE(s.name, u.name) AS name, s.channel_level AS level FROM sources src
LEFT JOIN store s ON src.source_kind = 'store' AND s.id = src.source_ref
LEFT JOIN staff_user u ON src.source_kind = 'staff' AND {staff_id} = src.source_ref{level}"""


async def channels_report(
    flt: ReportFilter, rules: ValueRules, *, now: datetime
) -> list[ChannelRow]:
    kept = await kept_ranking(flt, rules, now=now, usable=True)
    conn = kept.conn if kept else read_connection()
    params: dict[str, object] = {"start": flt.start, "end": flt.end}
    if kept is not None:
        params["ranking"] = kept.id
    if flt.store is not None:
        params["store"] = flt.store
    if flt.level is not None:
        params["level"] = flt.level.value
    rows = await fetch(_sql(flt, rules, Dialect.of(conn), kept is not None), params, conn=conn)
    result = []
    for r in rows:
        members, sales = int(r["members"]), int(r["sales"] or 0)
        result.append(
            ChannelRow(
                kind=str(r["source_kind"]),
                ref=str(r["source_ref"]),
                name=r["name"],
                level=r["level"],
                members=members,
                new_members=int(r["new_members"]),
                following=int(r["following"]),
                retention=round(int(r["following"]) / members, 6),
                buyers=int(r["buyers"]),
                sales_fen=sales,
                profit_fen=None if r["profit"] is None else int(r["profit"]),
                missing_cost_purchases=int(r["missing_n"] or 0),
                sales_per_member_fen=sales // members,
            )
        )
    result.sort(key=lambda c: (c.profit_fen is None, -(c.profit_fen or 0), -c.sales_fen, c.ref))
    return result
