"""Open and close the database for one process (the app, a CLI command, a test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tortoise import Tortoise

from club.db.config import tortoise_config


@asynccontextmanager
async def database(
    url: str,
    *,
    timezone: str = "Asia/Shanghai",
    create_schema: bool = False,
    replica_url: str | None = None,
) -> AsyncIterator[None]:
    """Initialise tortoise for this process and close it on exit.

    The context is also the global fallback, so request handlers and background tasks (which
    tortoise 1.x would otherwise see as other tasks without ORM state) use the same connections.
    `create_schema` builds missing tables directly (tests, and the embedded demo before it has
    migrations to apply); production applies migrations with `python -m bot migrate`.
    `replica_url` adds the read-only connection the reports use (`club.reports.sql`).
    """
    ensure_sqlite_folder(url)
    ctx = await Tortoise.init(
        config=tortoise_config(url, timezone=timezone, replica_url=replica_url),
        _create_db=url.startswith("sqlite") and ":memory:" not in url,
        _enable_global_fallback=True,
    )
    try:
        if create_schema:
            await Tortoise.generate_schemas(safe=True)
        yield
    finally:
        await ctx.close_connections()


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder (`data/` on a fresh checkout)."""
    if not url.startswith("sqlite://") or ":memory:" in url:
        return
    Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
