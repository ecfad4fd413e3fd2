"""The tier report: what each tier's members bring, and how many are at risk.

Per tier of the programme: club members (joined, not erased), how many still follow, how many
bought in the period and their sales and profit, the value classes and the churn flags. With a
level or store, only purchases there count and only the members who made them. Orders booked to
a group account are the organisation's, not the member's. For the default period the members'
sales come from the value-refresh's snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from club.reports import profit as money
from club.reports.filters import ReportFilter
from club.reports.rankings import kept_ranking
from club.reports.sql import fetch, read_connection
from club.rules.channels import ChannelLevel
from club.rules.programme import Programme


@dataclass(frozen=True)
class TierRow:
    tier: str
    name: str
    members: int
    following: int
    buyers: int
    sales_fen: int
    profit_fen: int | None
    missing_cost_purchases: int
    sales_share: float | None
    profit_share: float | None
    sales_per_member_fen: int
    class_a: int
    class_b: int
    class_c: int
    churn_risk: int


def _sql(flt: ReportFilter, programme: Programme, stored: bool) -> str:
    rules = programme.value
    where = "p.created_at >= :start AND p.created_at < :end AND p.account_id IS NULL"
    if flt.store is not None:
        where += " AND p.store_id = :store"
    if flt.level is not None and flt.level != ChannelLevel.CONSUMER:
        where += " AND p.channel_level = :level"
    lowest = programme.tiers.lowest.code
    narrowed = " AND b.member_id IS NOT NULL" if flt.level or flt.store else ""

    def count(cond: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    bought = (
        "SELECT member_id, sales, profit, missing_n FROM customer_value"
        " WHERE ranking_id = :ranking AND level = 'consumer' AND kind = 'member'"
        if stored
        else f"SELECT p.member_id, SUM({money.net()}) AS sales, SUM({money.profit(rules)})"
        f" AS profit, SUM({money.missing_cost()}) AS missing_n FROM purchase p WHERE {where}"
        " GROUP BY p.member_id"
    )
    return f"""
WITH bought AS ({bought})
SELECT COALESCE(m.tier, '{lowest}') AS tier, COUNT(*) AS members,
  {count("m.status = 'active'")} AS following, {count("b.member_id IS NOT NULL")} AS buyers,
  SUM(b.sales) AS sales, SUM(b.profit) AS profit, SUM(b.missing_n) AS missing_n,
  {count("mv.value_class = 'A'")} AS a, {count("mv.value_class = 'B'")} AS b,
  {count("mv.value_class = 'C'")} AS c, {count("mc.member_id IS NOT NULL")} AS churn
FROM member m
LEFT JOIN bought b ON b.member_id = m.id
LEFT JOIN member_value mv ON mv.member_id = m.id
LEFT JOIN member_churn mc ON mc.member_id = m.id
WHERE m.joined_at IS NOT NULL AND m.status <> 'deleted'{narrowed}
GROUP BY COALESCE(m.tier, '{lowest}')"""


async def tiers_report(flt: ReportFilter, programme: Programme, *, now: datetime) -> list[TierRow]:
    usable = flt.level is None and flt.store is None
    kept = await kept_ranking(flt, programme.value, now=now, usable=usable)
    params: dict[str, object] = (
        {"ranking": kept.id} if kept else {"start": flt.start, "end": flt.end}
    )
    if flt.store is not None and kept is None:
        params["store"] = flt.store
    if flt.level is not None and flt.level != ChannelLevel.CONSUMER and kept is None:
        params["level"] = flt.level.value
    conn = kept.conn if kept else read_connection()
    fetched = await fetch(_sql(flt, programme, kept is not None), params, conn=conn)
    found = {str(r["tier"]): r for r in fetched}
    sales_total = sum(int(r["sales"] or 0) for r in found.values())
    profit_total = sum(int(r["profit"] or 0) for r in found.values())
    names = {tier.code: tier.name_zh for tier in programme.tiers.tiers}
    # The ladder's order; a code the programme no longer has (renamed since) comes last.
    codes = [c for c in names if c in found] + sorted(c for c in found if c not in names)
    rows = []
    for code in codes:
        r = found[code]
        members, sales = int(r["members"]), int(r["sales"] or 0)
        profit = None if r["profit"] is None else int(r["profit"])
        rows.append(
            TierRow(
                tier=code,
                name=names.get(code, code),
                members=members,
                following=int(r["following"]),
                buyers=int(r["buyers"]),
                sales_fen=sales,
                profit_fen=profit,
                missing_cost_purchases=int(r["missing_n"] or 0),
                sales_share=round(sales / sales_total, 6) if sales_total else None,
                profit_share=(
                    round(profit / profit_total, 6) if profit is not None and profit_total else None
                ),
                sales_per_member_fen=sales // members,
                class_a=int(r["a"]),
                class_b=int(r["b"]),
                class_c=int(r["c"]),
                churn_risk=int(r["churn"]),
            )
        )
    return rows
