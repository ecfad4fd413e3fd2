"""Each level's customers ranked by sales and by profit: the heart of the 80/20 report.

Used to rank a period once and keep it (`club.reports.rankings`): the value-refresh's snapshot and
the periods reports ask for.
"""

from __future__ import annotations

from club.reports.customers import customers_sql
from club.reports.filters import ReportFilter
from club.reports.sql import Dialect
from club.rules.programme import ValueRules


def ranking_sql(flt: ReportFilter, rules: ValueRules, dialect: Dialect) -> str:
    """The CTEs `customers` and `ranked`: each customer of each level with its ranks by sales
    and by profit, what the customers before it make, and the level's totals."""
    by_sales = f"PARTITION BY level ORDER BY sales DESC, ref{dialect.binary}"
    by_profit = (
        "PARTITION BY level ORDER BY CASE WHEN profit IS NULL THEN 1 ELSE 0 END,"
        f" profit DESC, ref{dialect.binary}"
    )
    before = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    gain = "CASE WHEN profit > 0 THEN profit ELSE 0 END"
    return f"""
customers AS ({customers_sql(flt, rules, dialect)}),
ranked AS (
  SELECT c.*,
    ROW_NUMBER() OVER ({by_sales}) AS sales_rank,
    COALESCE(SUM(sales) OVER ({by_sales} {before}), 0) AS sales_before,
    SUM(sales) OVER (PARTITION BY level) AS level_sales,
    ROW_NUMBER() OVER ({by_profit}) AS profit_rank,
    COALESCE(SUM({gain}) OVER ({by_profit} {before}), 0) AS profit_before,
    SUM({gain}) OVER (PARTITION BY level) AS level_profit,
    COUNT(*) OVER (PARTITION BY level) AS level_customers
  FROM customers c
)"""
