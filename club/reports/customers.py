"""Who the customers are at each channel level, and what each bought in a period.

At the consumer level the customers are the members (a purchase counts for its buyer, wherever
it was made) and the group-purchase accounts (an order booked to an account counts for the
organisation, analysed as one customer); at every other level they are the stores, whose sales
are the purchases recorded at them while they were at that level (`purchase.channel_level`,
kept from the day of the sale).
So one purchase counts once per level: for its buyer at the consumer level and for its store at
the store's level, and levels are compared side by side, never added together.
"""

from __future__ import annotations

from club.reports import profit as money
from club.reports.filters import ReportFilter
from club.reports.sql import Dialect
from club.rules.channels import ChannelLevel
from club.rules.programme import ValueRules

CONSUMER = ChannelLevel.CONSUMER.value


def _sums(rules: ValueRules, dialect: Dialect) -> str:
    """What a customer bought in the period, each figure a BIGINT (integer fen)."""
    net = money.net()
    figures = {
        "purchases": "CAST(COUNT(*) AS BIGINT)",
        "sales": dialect.sum_fen(net),
        "profit": dialect.sum_fen(money.profit(rules)),
        "missing_n": dialect.sum_fen(money.missing_cost()),
        "missing_fen": dialect.sum_fen(f"CASE WHEN p.cost_fen IS NULL THEN {net} ELSE 0 END"),
        "late": dialect.sum_fen(f"CASE WHEN p.created_at >= :middle THEN {net} ELSE 0 END"),
        "early": dialect.sum_fen(f"CASE WHEN p.created_at < :middle THEN {net} ELSE 0 END"),
    }
    return ", ".join(f"{expr} AS {name}" for name, expr in figures.items())


FIGURES = "purchases, sales, profit, missing_n, missing_fen, late, early"


def consumers_sql(flt: ReportFilter, rules: ValueRules, dialect: Dialect) -> str | None:
    """The consumer level's customers (None when the filter asks for another level): level,
    kind (member or account), member_id, store_id (NULL), account_id, `ref` (the id as text),
    purchases, sales, profit (of the purchases with a cost), missing_n and missing_fen (the
    purchases and sales without a cost), late and early (sales in the period's later and
    earlier half). Parameters: `params(flt)`.

    Aggregated on one integer, the member's id or minus the account's id for an order booked to
    a group account: a third of the time of grouping a year's purchases of a million members on
    the five columns a union of every level would need (measured at 1,000,000 members,
    10,000,000 purchases)."""
    if flt.level not in (None, ChannelLevel.CONSUMER):
        return None
    # An order booked to a group account is the organisation's: one customer.
    key = "COALESCE(-p.account_id, p.member_id)"
    return (
        f"SELECT '{CONSUMER}' AS level,"
        " CASE WHEN k < 0 THEN 'account' ELSE 'member' END AS kind,"
        " CASE WHEN k < 0 THEN NULL ELSE k END AS member_id,"
        " CAST(NULL AS VARCHAR(32)) AS store_id,"
        " CASE WHEN k < 0 THEN -k ELSE NULL END AS account_id,"
        f" {dialect.text('ABS(k)')} AS ref, {FIGURES}"
        f" FROM (SELECT {key} AS k, {_sums(rules, dialect)} FROM purchase p WHERE {_where(flt)}"
        f" GROUP BY {key}) AS consumers"
    )


CONSUMER_ORDER = "COALESCE(member_id, -account_id)"
"""A consumer's id as one integer (members above zero, accounts below), to break ties in order."""


def stores_sql(flt: ReportFilter, rules: ValueRules, dialect: Dialect) -> str | None:
    """The stores of each store level, as customers (the columns of `consumers_sql`, kind
    `store`, ref the store's id), aggregated on (level, store); None when the filter asks for
    the consumer level."""
    if flt.level == ChannelLevel.CONSUMER:
        return None
    where = f"{_where(flt)} AND p.store_id IS NOT NULL AND p.channel_level IS NOT NULL"
    where += f" AND p.channel_level <> '{CONSUMER}'"
    if flt.level is not None:
        where += " AND p.channel_level = :level"
    return (
        "SELECT level, 'store' AS kind, CAST(NULL AS BIGINT) AS member_id, store_id,"
        f" CAST(NULL AS BIGINT) AS account_id, store_id AS ref, {FIGURES}"
        f" FROM (SELECT p.channel_level AS level, p.store_id AS store_id, {_sums(rules, dialect)}"
        f" FROM purchase p WHERE {where} GROUP BY p.channel_level, p.store_id) AS stores"
    )


def _where(flt: ReportFilter) -> str:
    where = "p.created_at >= :start AND p.created_at < :end"
    if flt.store is not None:
        where += " AND p.store_id = :store"
    return where


def params(flt: ReportFilter) -> dict[str, object]:
    values: dict[str, object] = {"start": flt.start, "end": flt.end, "middle": flt.middle}
    if flt.store is not None:
        values["store"] = flt.store
    if flt.level is not None and flt.level != ChannelLevel.CONSUMER:
        values["level"] = flt.level.value
    return values
