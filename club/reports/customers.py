"""Who the customers are at each channel level, and what each bought in a period: one CTE.

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


def _branch(level: str, kind: str, ids: tuple[str, str, str], where: str, rules: ValueRules) -> str:
    net = money.net()
    member_id, store_id, account_id = ids
    return (
        f"SELECT {level} AS level, {kind} AS kind, {member_id} AS member_id,"
        f" {store_id} AS store_id, {account_id} AS account_id, {net} AS net,"
        f" {money.profit(rules)} AS profit,"
        f" {money.missing_cost()} AS missing,"
        f" CASE WHEN p.created_at >= :middle THEN {net} ELSE 0 END AS late,"
        f" CASE WHEN p.created_at < :middle THEN {net} ELSE 0 END AS early"
        f" FROM purchase p WHERE {where}"
    )


def facts_sql(flt: ReportFilter, rules: ValueRules) -> str:
    """One row per purchase and level it counts at: level, kind (member, account or store),
    member_id, store_id or account_id, net,
    profit (NULL without a cost), missing (1 without a cost), late and early (its net in the
    period's later or earlier half). Parameters: `params(flt)`."""
    where = "p.created_at >= :start AND p.created_at < :end"
    if flt.store is not None:
        where += " AND p.store_id = :store"
    branches = []
    if flt.level in (None, ChannelLevel.CONSUMER):
        # An order booked to a group account is the organisation's: one customer.
        kind = "CASE WHEN p.account_id IS NULL THEN 'member' ELSE 'account' END"
        member = "CASE WHEN p.account_id IS NULL THEN p.member_id ELSE NULL END"
        ids = (member, "CAST(NULL AS VARCHAR(32))", "p.account_id")
        branches.append(_branch(f"'{CONSUMER}'", kind, ids, where, rules))
    if flt.level != ChannelLevel.CONSUMER:
        stores = f"{where} AND p.store_id IS NOT NULL AND p.channel_level IS NOT NULL"
        stores += f" AND p.channel_level <> '{CONSUMER}'"
        if flt.level is not None:
            stores += " AND p.channel_level = :level"
        ids = ("CAST(NULL AS BIGINT)", "p.store_id", "CAST(NULL AS BIGINT)")
        branches.append(_branch("p.channel_level", "'store'", ids, stores, rules))
    return " UNION ALL ".join(branches)


def customers_sql(flt: ReportFilter, rules: ValueRules, dialect: Dialect) -> str:
    """Per level and customer: `ref` (the member, store or account id as text), purchases, sales,
    profit (of the purchases with a cost), missing_n and missing_fen (the purchases and sales
    without a cost), late and early."""
    ref = f"COALESCE({dialect.text('member_id')}, store_id, {dialect.text('account_id')})"
    return (
        f"SELECT level, kind, member_id, store_id, account_id, {ref} AS ref,"
        " COUNT(*) AS purchases,"
        " SUM(net) AS sales, SUM(profit) AS profit, SUM(missing) AS missing_n,"
        " SUM(CASE WHEN missing = 1 THEN net ELSE 0 END) AS missing_fen,"
        " SUM(late) AS late, SUM(early) AS early"
        f" FROM ({facts_sql(flt, rules)}) AS facts"
        " GROUP BY level, kind, member_id, store_id, account_id"
    )


def params(flt: ReportFilter) -> dict[str, object]:
    values: dict[str, object] = {"start": flt.start, "end": flt.end, "middle": flt.middle}
    if flt.store is not None:
        values["store"] = flt.store
    if flt.level is not None and flt.level != ChannelLevel.CONSUMER:
        values["level"] = flt.level.value
    return values
