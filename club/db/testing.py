"""Helpers for tests and benchmarks: start every test from empty tables."""

from __future__ import annotations

from tortoise import Tortoise


async def clear_all_tables() -> None:
    """Empty every model table (PostgreSQL: one TRUNCATE; SQLite: DELETE each)."""
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps.get_models_iterable()]  # type: ignore[attr-defined]
    if not tables:
        return
    if conn.capabilities.dialect == "postgres":
        quoted = ", ".join(f'"{t}"' for t in tables)
        await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        for table in tables:
            await conn.execute_script(f'DELETE FROM "{table}"')  # noqa: S608 - our own table names
