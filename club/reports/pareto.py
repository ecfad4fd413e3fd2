"""The 80/20 report: key customers by sales and by profit within each channel level.

Within each level separately, customers are ranked by sales and, separately, by profit; the key
customers by sales are the smallest set (from the top) making `share` of the level's sales, and
the same for profit: `share` of the profit made by the level's profitable customers (losses are
not netted against it, so a few loss-makers cannot shrink the key set; they are never key by
profit). The report shows both sets, their overlap, both differences (big in sales but thin in
profit, and the reverse), and the *potential* key customers: not key, but within
`potential_band` after either cut, whose sales in the later half of the period rose by
`rising_growth` or more against the earlier half. Profit counts the purchases with a cost; the
others are reported as missing.

The ranking is kept (`club.reports.rankings`): the default period's by the daily value-refresh,
another period's by the first report that asks for it, for the day; only a store's report ranks
its purchases live. One query: the ranking is read (or computed) once, and the level summaries,
the Pareto curves (one point per percent of customers) and a page of customers come out of it as
tagged rows.
"""

from __future__ import annotations

from datetime import datetime

from club.reports.customers import params
from club.reports.filters import ReportFilter
from club.reports.pareto_rows import ParetoReport, Segment, assemble
from club.reports.ranker import Ranker
from club.reports.ranking import ranking_sql
from club.reports.rankings import ranking_for
from club.reports.sql import Dialect, fetch, read_connection, union_rows
from club.rules.programme import BASIS_POINTS, ValueRules

COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_kind", "VARCHAR(16)"),
    ("level", "VARCHAR(16)"),
    ("kind", "VARCHAR(16)"),
    ("ref", "VARCHAR(64)"),
    ("name", "VARCHAR(128)"),
    ("purchases", "BIGINT"),
    ("sales", "BIGINT"),
    ("profit", "BIGINT"),
    ("missing_n", "BIGINT"),
    ("missing_fen", "BIGINT"),
    ("sales_rank", "BIGINT"),
    ("sales_before", "BIGINT"),
    ("level_sales", "BIGINT"),
    ("profit_rank", "BIGINT"),
    ("profit_before", "BIGINT"),
    ("level_profit", "BIGINT"),
    ("level_customers", "BIGINT"),
    ("key_sales", "BIGINT"),
    ("key_profit", "BIGINT"),
    ("rising", "BIGINT"),
    ("segment", "VARCHAR(16)"),
    ("n_both", "BIGINT"),
    ("n_sales_only", "BIGINT"),
    ("n_profit_only", "BIGINT"),
    ("n_potential", "BIGINT"),
    ("n_accounts", "BIGINT"),
    ("n_segment", "BIGINT"),
)


def _flags(rules: ValueRules) -> str:
    """The CTEs `flags` and `flagged` over `ranked`: key by sales, by profit, rising, near the
    cut, and the segment."""
    share = rules.pareto_share_bp
    near = rules.pareto_share_bp + rules.potential_band_bp
    return f"""
flags AS (
  SELECT r.*,
    CASE WHEN level_sales > 0 AND sales_before * {BASIS_POINTS} < {share} * level_sales
      THEN 1 ELSE 0 END AS key_sales,
    CASE WHEN profit > 0 AND level_profit > 0
      AND profit_before * {BASIS_POINTS} < {share} * level_profit THEN 1 ELSE 0 END AS key_profit,
    CASE WHEN late > 0 AND late * {BASIS_POINTS} >= early * {BASIS_POINTS + rules.rising_bp}
      THEN 1 ELSE 0 END AS rising,
    CASE WHEN sales_before * {BASIS_POINTS} < {near} * level_sales
      OR (profit > 0 AND level_profit > 0
        AND profit_before * {BASIS_POINTS} < {near} * level_profit)
      THEN 1 ELSE 0 END AS near
  FROM ranked r
),
flagged AS (
  SELECT f.*,
    CASE WHEN key_sales = 1 AND key_profit = 1 THEN 'both'
      WHEN key_sales = 1 THEN 'sales_only'
      WHEN key_profit = 1 THEN 'profit_only'
      WHEN kind = 'account' THEN 'account'
      WHEN near = 1 AND rising = 1 THEN 'potential'
      ELSE 'other' END AS segment
  FROM flags f
)"""


def _in_segment(segment: Segment) -> str:
    if segment is Segment.ALL:
        return "1 = 1"
    if segment is Segment.KEY:
        return "segment IN ('both', 'sales_only', 'profit_only', 'account')"
    return f"segment = '{segment.value}'"


def _curve_where(rank: str) -> str:
    """One row per percent of customers: where rank crosses a whole percent (all when < 100)."""
    return f"({rank} * 100) / level_customers > (({rank} - 1) * 100) / level_customers"


def report_sql(
    flt: ReportFilter,
    rules: ValueRules,
    dialect: Dialect,
    segment: Segment,
    *,
    stored: bool = False,
) -> str:
    """The report's query; `stored`: read a kept ranking (`club.reports.rankings`) instead of
    ranking the purchases."""
    counts = {
        "purchases": "SUM(purchases)",
        "sales": "SUM(sales)",
        "profit": "SUM(profit)",
        "missing_n": "SUM(missing_n)",
        "missing_fen": "SUM(missing_fen)",
        "level_customers": "COUNT(*)",
        "key_sales": "SUM(key_sales)",
        "key_profit": "SUM(key_profit)",
        "n_both": "SUM(CASE WHEN segment = 'both' THEN 1 ELSE 0 END)",
        "n_sales_only": "SUM(CASE WHEN segment = 'sales_only' THEN 1 ELSE 0 END)",
        "n_profit_only": "SUM(CASE WHEN segment = 'profit_only' THEN 1 ELSE 0 END)",
        "n_potential": "SUM(CASE WHEN segment = 'potential' THEN 1 ELSE 0 END)",
        "n_accounts": "SUM(CASE WHEN kind = 'account' THEN 1 ELSE 0 END)",
        "n_segment": f"SUM(CASE WHEN {_in_segment(segment)} THEN 1 ELSE 0 END)",
    }
    summary = {"row_kind": "'level'", "level": "level", **counts}
    sales_curve = {
        "row_kind": "'sales_curve'",
        "level": "level",
        "sales_rank": "sales_rank",
        "sales_before": "sales_before + sales",
        "level_sales": "level_sales",
        "level_customers": "level_customers",
    }
    profit_curve = {
        "row_kind": "'profit_curve'",
        "level": "level",
        "profit_rank": "profit_rank",
        "profit_before": "profit_before + profit",
        "level_profit": "level_profit",
        "level_customers": "level_customers",
    }
    page_columns = [name for name, _ in COLUMNS if not name.startswith("n_")]
    page = {name: f"page.{name}" for name in page_columns}
    page.update(
        row_kind="'customer'",
        name="COALESCE(s.name, m.name, ga.name)",
    )
    page_tail = (
        "FROM (SELECT * FROM flagged WHERE "
        f"{_in_segment(segment)} ORDER BY level, sales_rank LIMIT :limit OFFSET :offset) AS page"
        " LEFT JOIN store s ON s.id = page.store_id LEFT JOIN member m ON m.id = page.member_id"
        " LEFT JOIN group_account ga ON ga.id = page.account_id"
    )
    body = union_rows(
        COLUMNS,
        [
            ("FROM flagged GROUP BY level", summary),
            (f"FROM flagged WHERE {_curve_where('sales_rank')}", sales_curve),
            (
                f"FROM flagged WHERE profit IS NOT NULL AND {_curve_where('profit_rank')}",
                profit_curve,
            ),
            (page_tail, page),
        ],
    )
    if stored:
        level = "" if flt.level is None else " AND level = :level_name"
        ranking = f"ranked AS (SELECT * FROM customer_value WHERE ranking_id = :ranking{level})"
    else:
        ranking = ranking_sql(flt, rules, dialect)
    return f"WITH {ranking}, {_flags(rules)} {body}"


async def pareto_report(
    flt: ReportFilter,
    rules: ValueRules,
    *,
    now: datetime,
    segment: Segment = Segment.ALL,
    limit: int = 100,
    offset: int = 0,
    ranker: Ranker | None = None,
) -> ParetoReport:
    """The report as asked at `now` (a period ranked for it says so). With a `ranker` (the web
    process's), a period still being ranked after its wait raises `RankingPending`."""
    kept = await (ranker.ranking_for if ranker is not None else ranking_for)(flt, rules, now)
    conn = kept.conn if kept is not None else read_connection()
    sql = report_sql(flt, rules, Dialect.of(conn), segment, stored=kept is not None)
    values: dict[str, object] = {"limit": limit, "offset": offset}
    if kept is None:
        values.update(params(flt))
    else:
        values["ranking"] = kept.id
        if flt.level is not None:
            values["level_name"] = flt.level.value
    rows = await fetch(sql, values, conn=conn)
    if kept is None:
        return assemble(rows, rules)
    return assemble(rows, rules, as_of=kept.as_of, computed_at=kept.computed_at)
