"""Native tortoise migrations: apply them, and tell whether the models have moved past them.

`python -m bot migrate` applies them in production; the embedded demo applies them at start-up,
so the demo's SQLite file is upgraded the same way a production database is. Tests build their
tables directly (faster) and one test checks that the migrations build the same schema.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as apply_migrations
from tortoise.migrations.autodetector import MigrationAutodetector

from club.db.config import APP_LABEL, tortoise_config
from club.db.connect import database, ensure_sqlite_folder

log = logging.getLogger(__name__)

Progress = Callable[[str, str, str], object]


def _log_progress(event: str, app_label: str, name: str) -> None:
    log.info("migration %s %s.%s", event, app_label, name)


async def migrate(
    url: str,
    *,
    timezone: str = "Asia/Shanghai",
    progress: Progress | None = None,
    upto: str | None = None,
) -> None:
    """Apply every migration not yet applied to the database at `url` (`upto`: only as far as
    that migration, e.g. `0026_run_progress`, as an older release left a database)."""
    ensure_sqlite_folder(url)
    try:
        await apply_migrations(
            config=tortoise_config(url, timezone=timezone),
            progress=progress or _log_progress,
            target=f"{APP_LABEL}.{upto}" if upto else None,
        )
    finally:
        await Tortoise.close_connections()


async def unmigrated_changes(url: str) -> list[str]:
    """Names of the migrations `makemigrations` would write now: empty when they are current.

    Nothing is written or queried; `url` only picks the dialect (use the one this process uses:
    tortoise binds model classes to one backend per process).
    """
    config = tortoise_config(url)
    apps_config = config["apps"]
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        if ctx.apps is None:
            raise RuntimeError("tortoise did not load the models")
        detector = MigrationAutodetector(ctx.apps, {APP_LABEL: apps_config[APP_LABEL]})
        writers = await detector.changes()
        return [writer.name for writer in writers]


@asynccontextmanager
async def open_database(
    url: str,
    *,
    timezone: str,
    embedded: bool,
    create_schema: bool | None = None,
    replica_url: str | None = None,
) -> AsyncIterator[None]:
    """How every process opens the database (server, scheduler, CLI commands).

    `create_schema=None` (the normal case): the embedded demo applies the migrations first, so
    whichever command a newcomer runs first leaves a database the others can upgrade; production
    expects `python -m bot migrate` to have run as a deploy step (several hosts must not migrate
    at once). `True` builds the tables directly (tests and benchmarks).
    """
    if create_schema is None and embedded:
        await migrate(url, timezone=timezone)
    async with database(
        url, timezone=timezone, create_schema=bool(create_schema), replica_url=replica_url
    ):
        yield
