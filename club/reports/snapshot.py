"""The value-refresh's snapshot of every level's customers over the default report period.

Ranking a million consumers by sales and by profit means aggregating millions of purchases and
sorting twice; done once a day by the refresh (`customer_value`), the reports asked for the
default period read it as it is. A report asked for another period or a store, or asked before
today's refresh, ranks the purchases itself.
"""

from __future__ import annotations

from datetime import date

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient

from club.reports.filters import ReportFilter, build_filter
from club.reports.members import as_date
from club.reports.ranking import ranking_sql
from club.reports.sql import Dialect, execute, fetch
from club.rules.programme import ValueRules

COLUMNS = (
    "level, kind, member_id, store_id, account_id, ref, purchases, sales, profit, missing_n,"
    " missing_fen, late, early, sales_rank, sales_before, level_sales, profit_rank,"
    " profit_before, level_profit, level_customers"
)


def snapshot_filter(day: date, rules: ValueRules) -> ReportFilter:
    """The default report period as of `day`: the value months up to it, every level."""
    return build_filter(today=day, tz=timezone.get_default_timezone(), months=rules.months)


async def take_snapshot(conn: BaseDBAsyncClient, day: date, rules: ValueRules) -> int:
    """Replace the snapshot with the ranking of `day`'s default period (in the refresh's
    transaction)."""
    flt = snapshot_filter(day, rules)
    dialect = Dialect.of(conn)
    await execute("DELETE FROM customer_value", conn=conn)
    return await execute(
        f"INSERT INTO customer_value (day, start_day, end_day, {COLUMNS})"
        f" WITH {ranking_sql(flt, rules, dialect)}"
        f" SELECT {dialect.date_literal(day)}, {dialect.date_literal(flt.start_day)},"
        f" {dialect.date_literal(flt.end_day)}, {COLUMNS} FROM ranked",
        {"start": flt.start, "end": flt.end, "middle": flt.middle},
        conn=conn,
    )


async def snapshot_day(
    flt: ReportFilter, conn: BaseDBAsyncClient, *, usable: bool | None = None
) -> date | None:
    """The snapshot's day when it answers `flt` (its default period), else None. `usable`: the
    caller's say on its other filters (default: no store, since the snapshot counts every
    store's purchases)."""
    if flt.period_given or not (flt.store is None if usable is None else usable):
        return None
    rows = await fetch("SELECT day, start_day, end_day FROM customer_value LIMIT 1", conn=conn)
    if not rows:
        return None
    row = rows[0]
    if (as_date(row["start_day"]), as_date(row["end_day"])) != (flt.start_day, flt.end_day):
        return None
    return as_date(row["day"])
