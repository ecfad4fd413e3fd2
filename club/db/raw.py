"""Hand-written SQL on either backend: `$1`-style placeholders, values always bound.

Set-based statements (a segment's count, freezing a campaign's audience with INSERT ... SELECT)
are written once with PostgreSQL's `$n` placeholders; on SQLite they become `?n`, and times are
bound as the ORM stores them there (ISO text in the club's time zone: SQLite compares times as
text, so every stored and bound time must share one offset). Lists go to PostgreSQL as one array
parameter (`= ANY($1::text[])`) and to SQLite as one placeholder per value (`IN (?1, ?2)`): see
`Params.one_of`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise import connections, timezone
from tortoise.backends.base.client import BaseDBAsyncClient

_PARAM = re.compile(r"\$(\d+)")


def dialect(conn: BaseDBAsyncClient | None = None) -> str:
    """`postgres` or `sqlite`."""
    return str((conn or connections.get("default")).capabilities.dialect)


class Params:
    """The values of one statement, numbered as they are added."""

    def __init__(self, dialect_name: str) -> None:
        self.dialect = dialect_name
        self.values: list[Any] = []

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgres"

    def add(self, value: Any) -> str:
        """A placeholder for `value` (a time is converted for SQLite)."""
        if isinstance(value, datetime) and not self.postgres:
            value = value.astimezone(timezone.get_default_timezone())
        self.values.append(value)
        return f"${len(self.values)}"

    def one_of(self, column: str, values: Sequence[Any], pg_type: str = "text") -> str:
        """`column` is one of `values` (never an empty list: the caller checks)."""
        if not values:
            raise ValueError("one_of needs at least one value")
        if self.postgres:
            return f"{column} = ANY({self.add(list(values))}::{pg_type}[])"
        return f"{column} IN ({', '.join(self.add(v) for v in values)})"


def native(sql: str, dialect_name: str) -> str:
    """The statement with the backend's placeholders."""
    return sql if dialect_name == "postgres" else _PARAM.sub(r"?\1", sql)


async def rows(
    sql: str, values: Sequence[Any] = (), conn: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    conn = conn or connections.get("default")
    found: list[dict[str, Any]] = await conn.execute_query_dict(
        native(sql, dialect(conn)), list(values)
    )
    return found


async def execute(
    sql: str, values: Sequence[Any] = (), conn: BaseDBAsyncClient | None = None
) -> int:
    """Run a statement; the number of rows it changed."""
    conn = conn or connections.get("default")
    changed, _ = await conn.execute_query(native(sql, dialect(conn)), list(values))
    return int(changed)
