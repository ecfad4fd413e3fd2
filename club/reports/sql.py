"""Run a report's SQL on SQLite or PostgreSQL, on the replica when there is one.

Queries are written once with named parameters (`:name`) and the few dialect differences as
methods of `Dialect`; `run` numbers the parameters for asyncpg (`$1`) or marks them for SQLite
(`?`). Times are bound as aware datetimes on PostgreSQL and as the text tortoise stores on
SQLite (the club's zone, `YYYY-MM-DD HH:MM:SS+08:00`), so comparisons stay index-friendly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise import connections, timezone
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from club.db.config import REPLICA

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")

Row = dict[str, Any]


def read_connection() -> BaseDBAsyncClient:
    """The replica when DATABASE_REPLICA_URL configured one, else the main database."""
    name = REPLICA if REPLICA in connections.db_config else "default"
    conn: BaseDBAsyncClient = connections.get(name)
    return conn


@dataclass(frozen=True)
class Dialect:
    postgres: bool

    @classmethod
    def of(cls, conn: BaseDBAsyncClient) -> Dialect:
        return cls(postgres=conn.capabilities.dialect == "postgres")

    def epoch(self, column: str) -> str:
        """Whole seconds since 1970 of a stored time (an integer on both, truncated)."""
        if self.postgres:
            return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
        return f"CAST(strftime('%s', {column}) AS INTEGER)"

    def time_param(self, name: str) -> str:
        """A bound time where PostgreSQL cannot infer the type (a SELECT list feeding an
        INSERT); SQLite must not cast it (its CAST would make the text a number)."""
        return f"CAST(:{name} AS TIMESTAMPTZ)" if self.postgres else f":{name}"

    def date_literal(self, day: date) -> str:
        """A calendar day as SQL (a `date` is never user text here: it is formatted by us)."""
        return f"DATE '{day.isoformat()}'" if self.postgres else f"'{day.isoformat()}'"

    def month(self, column: str) -> str:
        """`YYYY-MM` of a stored time, in the club's zone."""
        if self.postgres:
            zone = timezone.get_default_timezone().key  # type: ignore[attr-defined]
            return f"to_char({column} AT TIME ZONE '{zone}', 'YYYY-MM')"
        return f"substr({column}, 1, 7)"  # SQLite keeps the club's local time as text

    @property
    def binary(self) -> str:
        """Text ordering by code point on both (SQLite's default; PostgreSQL's "C")."""
        return ' COLLATE "C"' if self.postgres else ""

    def sum_fen(self, expr: str) -> str:
        """The SUM of an integer figure (fen, a count), as a BIGINT. PostgreSQL adds it up as
        DOUBLE PRECISION: exact while every sum stays below 2^53 (90 trillion yuan in fen), and
        a parallel aggregate's workers then hand over a float instead of SUM(BIGINT)'s 128-bit
        state (a year's customers summed in 8.3-8.9 s against 10.0-10.9 s at 10,000,000
        purchases, measured alternately)."""
        if self.postgres:
            return f"CAST(SUM(CAST({expr} AS DOUBLE PRECISION)) AS BIGINT)"
        return f"CAST(SUM({expr}) AS BIGINT)"

    def cat(self, *parts: str) -> str:
        return " || ".join(parts)

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def ratio(self, numerator: str, denominator: str) -> str:
        """A float division that never divides by zero (NULL instead)."""
        return f"(CAST({numerator} AS DOUBLE PRECISION) / NULLIF({denominator}, 0))"

    def bind(self, value: object) -> object:
        if isinstance(value, datetime):
            if self.postgres:
                return value
            local = value.astimezone(timezone.get_default_timezone())
            return local.isoformat(sep=" ")
        if isinstance(value, date) and not self.postgres:
            return value.isoformat()
        return value


def compile_sql(
    sql: str, params: Mapping[str, object], dialect: Dialect
) -> tuple[str, list[object]]:
    """Named parameters to positional ones; a parameter used twice is bound twice on SQLite."""
    order: list[str] = []

    def mark(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in params:
            raise KeyError(f"SQL parameter :{name} has no value")
        if dialect.postgres:
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"
        order.append(name)
        return "?"

    text = _PARAM.sub(mark, sql)
    return text, [dialect.bind(params[name]) for name in order]


REPORT_WORK_MEM = "64MB"
"""The memory each sort or hash of a report query may use on PostgreSQL before it spills to disk.

The server's default (4 MB) makes a hash aggregate of a few hundred thousand groups spill, and
PostgreSQL 15's spilled hash aggregate can then run for minutes on one core: the buyers of one
channel level over a year (`SELECT DISTINCT member_id ...`, 370,000 members of 600,000
purchases) ran over four minutes at 4 MB and 3 s at 64 MB on the 1,000,000-member benchmark.
It is set for the report's own transaction (`SET LOCAL`), never for the club's other queries;
a parallel query gives each worker as much."""


async def fetch(
    sql: str,
    params: Mapping[str, object] | None = None,
    *,
    conn: BaseDBAsyncClient | None = None,
) -> list[Row]:
    """The rows of a report query, on PostgreSQL with `REPORT_WORK_MEM` for its sorts and
    hashes (in the caller's transaction, or in one of its own)."""
    connection = conn if conn is not None else read_connection()
    dialect = Dialect.of(connection)
    text, values = compile_sql(sql, params or {}, dialect)
    if not dialect.postgres:
        return list(await connection.execute_query_dict(text, values))
    if isinstance(connection, TransactionalDBClient):
        await connection.execute_script(_WORK_MEM)
        return list(await connection.execute_query_dict(text, values))
    async with in_transaction(connection.connection_name) as tx:
        await tx.execute_script(_WORK_MEM)
        return list(await tx.execute_query_dict(text, values))


_WORK_MEM = f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"


async def execute(
    sql: str, params: Mapping[str, object] | None = None, *, conn: BaseDBAsyncClient
) -> int:
    """Run a statement on `conn` (a write connection or transaction); the rows it touched.

    tortoise's asyncpg client reads an INSERT's count from the wrong word of the command tag
    (`INSERT 0 6` gives 0), so on PostgreSQL an INSERT is counted through RETURNING instead.
    """
    dialect = Dialect.of(conn)
    text, values = compile_sql(sql, params or {}, dialect)
    if dialect.postgres and text.lstrip().upper().startswith("INSERT"):
        rows = await conn.execute_query_dict(
            f"WITH done AS ({text} RETURNING 1) SELECT COUNT(*) AS n FROM done", values
        )
        return int(rows[0]["n"])
    count, _ = await conn.execute_query(text, values)
    return int(count)


def in_list(name: str, values: Sequence[object]) -> tuple[str, dict[str, object]]:
    """`IN (:name_0, :name_1, ...)` and its parameters, for a short list of values."""
    names = {f"{name}_{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{n}" for n in names) + ")", dict(names)


def union_rows(
    columns: Sequence[tuple[str, str]], branches: Sequence[tuple[str, Mapping[str, str]]]
) -> str:
    """`SELECT ... UNION ALL SELECT ...` of branches that fill different columns of one shape.

    `columns`: (name, SQL type) in order; a branch is (FROM-and-after clause, {column: expr}),
    and the columns it leaves out are typed NULLs (PostgreSQL needs the type to match unions).
    One query with tagged rows lets a report compute its ranking once and return the summary,
    the curve and a page of customers from it.
    """
    selects = []
    for tail, exprs in branches:
        unknown = set(exprs) - {name for name, _ in columns}
        if unknown:
            raise KeyError(f"not a report column: {sorted(unknown)}")
        parts = [
            f"{exprs[name]} AS {name}" if name in exprs else f"CAST(NULL AS {kind}) AS {name}"
            for name, kind in columns
        ]
        selects.append(f"SELECT {', '.join(parts)} {tail}")
    return " UNION ALL ".join(selects)
