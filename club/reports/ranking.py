"""Each level's customers ranked by sales and by profit: the heart of the 80/20 report.

Used to rank a period once and keep it (`club.reports.rankings`): the value-refresh's snapshot and
the periods reports ask for.
"""

from __future__ import annotations

from club.reports.customers import CONSUMER, CONSUMER_ORDER, consumers_sql, stores_sql
from club.reports.filters import ReportFilter
from club.reports.sql import Dialect
from club.rules.programme import ValueRules


def ranking_sql(
    flt: ReportFilter, rules: ValueRules, dialect: Dialect, *, customers: str | None = None
) -> str:
    """The CTE `ranked`: each customer of each level with its ranks by sales and by profit,
    what the customers before it make, and the level's totals. `customers`: a table already
    holding the period's customers of every level (`customers_sql`), ranked instead of the
    purchases.

    The consumer level is ranked on its own, ordered on integers (sales, then the customer's
    id), and the store levels together, partitioned by level: ordering a million consumers on
    (level, sales, id as text) took twice as long (measured at 1,000,000 members)."""
    if customers is None:
        consumers = consumers_sql(flt, rules, dialect)
        stores = stores_sql(flt, rules, dialect)
    else:
        consumers = f"SELECT * FROM {customers} WHERE level = '{CONSUMER}'"
        stores = f"SELECT * FROM {customers} WHERE level <> '{CONSUMER}'"
    branches = []
    if consumers is not None:
        branches.append(_windows(consumers, "", CONSUMER_ORDER))
    if stores is not None:
        branches.append(_windows(stores, "PARTITION BY level", f"ref{dialect.binary}"))
    return f"ranked AS ({' UNION ALL '.join(branches)})"


def customers_sql(flt: ReportFilter, rules: ValueRules, dialect: Dialect) -> str:
    """The period's customers of every level the filter asks for, with what each bought (the
    columns of `consumers_sql`), to be kept in a table and ranked from it (`ranking_sql`)."""
    branches = [
        sql
        for sql in (consumers_sql(flt, rules, dialect), stores_sql(flt, rules, dialect))
        if sql is not None
    ]
    return " UNION ALL ".join(branches)


def _windows(customers: str, partition: str, tie: str) -> str:
    by_sales = f"{partition} ORDER BY sales DESC, {tie}"
    by_profit = (
        f"{partition} ORDER BY CASE WHEN profit IS NULL THEN 1 ELSE 0 END, profit DESC, {tie}"
    )
    before = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    gain = "CASE WHEN profit > 0 THEN profit ELSE 0 END"
    return f"""
  SELECT c.*,
    ROW_NUMBER() OVER ({by_sales}) AS sales_rank,
    COALESCE(SUM(sales) OVER ({by_sales} {before}), 0) AS sales_before,
    SUM(sales) OVER ({partition}) AS level_sales,
    ROW_NUMBER() OVER ({by_profit}) AS profit_rank,
    COALESCE(SUM({gain}) OVER ({by_profit} {before}), 0) AS profit_before,
    SUM({gain}) OVER ({partition}) AS level_profit,
    COUNT(*) OVER ({partition}) AS level_customers
  FROM ({customers}) AS c"""
