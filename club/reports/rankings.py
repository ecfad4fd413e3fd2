"""Kept rankings: each level's customers ranked by sales and by profit over a period.

Ranking a million consumers means aggregating millions of purchases and sorting them twice:
about 15 s for a year of 10,000,000 purchases on the benchmark machine, far more than a report
may take. So a period is ranked once and the ranking kept (`ranking`, its rows in
`customer_value`):

- the value-refresh ranks the default period every day (the *snapshot*);
- the first 80/20 report asked for another period ranks it (in a web process, in the
  background: `club.reports.ranker`) and keeps it for the day; every
  later page, list, level and download of that period, and its channel and tier reports,
  read the kept ranking. The `kept_rankings` (programme, `[value]`) most recently read of
  those stay; the next day's first ask ranks again, since returns change the past.

A ranking answers a report of the same period and value rules (`ValueRules.profit_key`) on the
day it was computed, asked without a store: one store's purchases rank in milliseconds from
their index and are never kept. Rankings are written on the main database and looked up where
reports read (the replica when there is one); one just computed is read where it was written.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from tortoise import connections, timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.db.models.value import Ranking
from club.reports.customers import params
from club.reports.filters import ReportFilter, build_filter
from club.reports.ranking import customers_sql, ranking_sql
from club.reports.sql import Dialect, execute, fetch, read_connection
from club.rules.programme import ValueRules

COLUMNS = (
    "level, kind, member_id, store_id, account_id, ref, purchases, sales, profit, missing_n,"
    " missing_fen, late, early, sales_rank, sales_before, level_sales, profit_rank,"
    " profit_before, level_profit, level_customers"
)


@dataclass(frozen=True)
class Kept:
    """A kept ranking a report reads: `WHERE ranking_id = id` on `conn`."""

    id: int
    as_of: date
    computed_at: datetime
    conn: BaseDBAsyncClient


def default_filter(day: date, rules: ValueRules) -> ReportFilter:
    """The default report period as of `day`: the value months up to it, every level."""
    return build_filter(today=day, tz=timezone.get_default_timezone(), months=rules.months)


def rules_key(rules: ValueRules) -> str:
    return hashlib.sha256(rules.profit_key.encode()).hexdigest()[:16]


async def take_snapshot(
    conn: BaseDBAsyncClient, day: date, rules: ValueRules, now: datetime
) -> int:
    """Rank `day`'s default period as the snapshot (in the refresh's transaction); the rows
    ranked.

    The previous snapshot is not deleted at once: a report that looked it up just before this
    commits may not have read its rows yet, so it becomes an asked-for ranking read `now`,
    dropped like the others once `GRACE` has passed (at the next ask or refresh). Asked-for
    rankings of the snapshot's period (asked before the refresh ran) and those duplicating a
    snapshot go at once, as do those of earlier days read before the grace (the previous
    snapshot goes at the next day's refresh)."""
    flt = default_filter(day, rules)
    await _drop(
        conn,
        "snapshot = :no AND ((start_day = :start_day AND end_day = :end_day AND as_of = :day)"
        " OR EXISTS (SELECT 1 FROM ranking s WHERE s.snapshot = :yes"
        " AND s.start_day = ranking.start_day AND s.end_day = ranking.end_day"
        " AND s.rules = ranking.rules AND s.as_of = ranking.as_of))",
        {"no": False, "yes": True, "day": day, "start_day": flt.start_day, "end_day": flt.end_day},
    )
    await Ranking.filter(snapshot=True).using_db(conn).update(snapshot=False, read_at=now)
    await _evict(conn, day, rules.kept_rankings, now, earlier=True)
    return await _rank(conn, flt, rules, now, snapshot=True)


async def kept_ranking(
    flt: ReportFilter,
    rules: ValueRules,
    *,
    now: datetime,
    usable: bool | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> Kept | None:
    """The kept ranking that answers `flt`, if one does (read at `now`). `usable`: the
    caller's say on its other filters (default: no store, since a ranking counts every
    store's purchases)."""
    if not (flt.store is None if usable is None else usable):
        return None
    conn = conn if conn is not None else read_connection()
    found = (
        await Ranking.filter(
            start_day=flt.start_day,
            end_day=flt.end_day,
            rules=rules_key(rules),
            as_of=flt.today,
        )
        .using_db(conn)
        .order_by("-snapshot", "-id")
        .first()
    )
    if found is None:
        return None
    if not found.snapshot:
        # Read again: the least recently read asked-for ranking is the first to go.
        await Ranking.filter(id=found.id).update(read_at=now)
    return Kept(found.id, found.as_of, found.computed_at, conn)


async def ranking_for(flt: ReportFilter, rules: ValueRules, now: datetime) -> Kept | None:
    """The kept ranking that answers `flt`, ranking its period and keeping it first (as
    computed at `now`) when none does; None when `flt` names a store (ranked live) or the
    programme keeps none."""
    if flt.store is not None:
        return None
    found = await kept_ranking(flt, rules, now=now)
    main = connections.get("default")
    if found is None and read_connection() is not main:
        found = await kept_ranking(flt, rules, conn=main, now=now)  # not on the replica yet
    if found is not None or rules.kept_rankings == 0:
        return found
    if await _rank_once(flt, rules, now, ahead=False) is not None:
        async with in_transaction("default") as conn:
            await _evict(conn, flt.today, rules.kept_rankings, now, earlier=False)
    return await kept_ranking(flt, rules, conn=main, now=now)


async def keep_ahead(flt: ReportFilter, rules: ValueRules, now: datetime) -> int | None:
    """Rank `flt`'s period for the day ahead of any ask (the `rank-ahead` job), kept all day
    whatever else is asked; the customers ranked, or None when a ranking of the day already
    answers it (the snapshot, or an asked one: that one is now kept all day too)."""
    main = connections.get("default")
    ranked = None
    if await kept_ranking(flt, rules, conn=main, now=now) is None:
        ranked = await _rank_once(flt, rules, now, ahead=True)
    if ranked is None:
        found = await kept_ranking(flt, rules, conn=main, now=now)
        if found is None:
            raise RuntimeError(f"no ranking of {flt.start_day}..{flt.end_day} after ranking it")
        await Ranking.filter(id=found.id, snapshot=False).update(ahead=True)
    return ranked


ELSEWHERE_POLL_S = 1.0
"""How often a process waits to read a ranking that another process is computing."""


async def _rank_once(
    flt: ReportFilter, rules: ValueRules, now: datetime, *, ahead: bool
) -> int | None:
    """Rank `flt`'s period (every level, every store) in a transaction of its own and keep it;
    the customers ranked, or None when another process ranked it meanwhile.

    One ranking per period and day however many web processes and schedulers ask at once: on
    PostgreSQL the ranker holds a transaction lock on the period's key, and a process that
    finds it taken waits for the ranking without holding a connection (it reads again every
    second; if the other process failed, the lock is free and it ranks itself). Without the
    lock, the second would sit for the whole ranking on the ranking's unique key, a connection
    held. The unique key still backs it up, and is the guard on SQLite (one process)."""
    flt = replace(flt, level=None, store=None)
    main = connections.get("default")
    key = _lock_key(flt, rules)
    while True:
        try:
            async with in_transaction("default") as conn:
                if await _locked(conn, key):
                    if await kept_ranking(flt, rules, conn=conn, now=now) is not None:
                        return None  # ranked and committed just before this lock was taken
                    return await _rank(conn, flt, rules, now, snapshot=False, ahead=ahead)
        except IntegrityError:
            return None  # another process ranked it meanwhile: its ranking answers
        await asyncio.sleep(ELSEWHERE_POLL_S)
        if await kept_ranking(flt, rules, conn=main, now=now) is not None:
            return None


def _lock_key(flt: ReportFilter, rules: ValueRules) -> int:
    """A period's ranking of a day as a PostgreSQL advisory lock key (a signed 64-bit int)."""
    text = f"ranking:{flt.start_day}:{flt.end_day}:{rules_key(rules)}:{flt.today}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


async def _locked(conn: BaseDBAsyncClient, key: int) -> bool:
    """Took the period's transaction lock (PostgreSQL; always on SQLite, one process)."""
    if not Dialect.of(conn).postgres:
        return True
    [row] = await fetch("SELECT pg_try_advisory_xact_lock(:key) AS taken", {"key": key}, conn=conn)
    return bool(row["taken"])


async def _rank(
    conn: BaseDBAsyncClient,
    flt: ReportFilter,
    rules: ValueRules,
    now: datetime,
    *,
    snapshot: bool,
    ahead: bool = False,
) -> int:
    ranking = await Ranking.create(
        start_day=flt.start_day,
        end_day=flt.end_day,
        rules=rules_key(rules),
        as_of=flt.today,
        snapshot=snapshot,
        ahead=ahead,
        computed_at=now,
        read_at=now,
        using_db=conn,
    )
    dialect = Dialect.of(conn)
    values = params(flt)
    customers_from = None
    if dialect.postgres:
        # The customers' sums first, kept in a temporary table: PostgreSQL plans a CREATE TABLE
        # AS with parallel workers and an INSERT ... SELECT without (measured at 10,000,000
        # purchases: a year's first ask took 26 s through one INSERT ... SELECT). Their ranks
        # go straight into customer_value (ordering is never parallel), not through a second
        # table of every ranked row first: 5-6% less work (backend CPU with parallel workers
        # off, a year 16.5 -> 15.6 s, March-May 9.2-10.0 -> 9.0 s).
        customers_of = customers_sql(flt, rules, dialect)
        await execute(
            f"CREATE TEMP TABLE customers_new ON COMMIT DROP AS {customers_of}", values, conn=conn
        )
        customers_from, values = "customers_new", {}
    ranked = ranking_sql(flt, rules, dialect, customers=customers_from)
    customers = await execute(
        f"INSERT INTO customer_value (ranking_id, {COLUMNS})"
        f" SELECT {int(ranking.id)}, {COLUMNS} FROM (WITH {ranked} SELECT * FROM ranked) AS r",
        values,
        conn=conn,
    )
    await Ranking.filter(id=ranking.id).using_db(conn).update(customers=customers)
    return customers


GRACE = timedelta(minutes=5)
"""A ranking read this recently is never dropped: the report reading it may not have read its
rows yet (so the programme's `kept_rankings` may be passed for that long)."""


async def _evict(
    conn: BaseDBAsyncClient, today: date, kept: int, now: datetime, *, earlier: bool
) -> None:
    """Asked-for rankings of `today` beyond the `kept` most recently read (those ranked ahead
    stay all day) and, with `earlier`, every asked-for ranking of an earlier day, unless read
    in the last `GRACE`.

    Only the value-refresh drops an earlier day's rankings (`earlier`): deleting a million rows
    takes seconds, which a report's first ask of the day would otherwise wait for. They are
    never read again, and stay until then."""
    which = Ranking.filter(snapshot=False)
    if not earlier:
        which = which.filter(as_of=today)
    asked = await (
        which.using_db(conn)
        .order_by("-read_at", "-id")
        .values_list("id", "as_of", "read_at", "ahead")
    )
    ids, counted = [], 0
    for i, as_of, read_at, ahead in asked:
        if as_of == today and not ahead:
            counted += 1
        beyond = as_of < today or (not ahead and counted > kept)
        if beyond and read_at < now - GRACE:
            ids.append(i)
    if ids:
        marks = ", ".join(str(i) for i in ids)
        await _drop(conn, f"id IN ({marks})", {})


async def forget_asked(conn: BaseDBAsyncClient) -> None:
    """Drop every asked-for ranking (the refresh's snapshot stays): the next ask ranks again."""
    await _drop(conn, "snapshot = :no", {"no": False})


async def _drop(conn: BaseDBAsyncClient, where: str, values: dict[str, object]) -> None:
    """Delete the rankings `where` selects, their rows first (SQLite may run without foreign
    key enforcement, so the cascade is not relied on)."""
    await execute(
        f"DELETE FROM customer_value WHERE ranking_id IN (SELECT id FROM ranking WHERE {where})",
        values,
        conn=conn,
    )
    await execute(f"DELETE FROM ranking WHERE {where}", values, conn=conn)
