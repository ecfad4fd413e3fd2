"""A benchmark's database made empty: the schema dropped, then brought up by the migrations."""

from __future__ import annotations

import asyncpg

from club.db.migrate import migrate


async def fresh_schema(url: str) -> None:
    """Drop `url`'s public schema (everything a run before left) and apply the migrations."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    await migrate(url)
