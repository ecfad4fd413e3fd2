"""Tortoise configuration, built from a database URL (never from the environment here)."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

APP_LABEL = "models"
MODEL_MODULES = [
    "club.db.models.members",
    "club.db.models.outbox",
    "club.db.models.staff",
    "club.db.models.catalog",
    "club.db.models.ledger",
    "club.db.models.jobs",
    "club.db.models.stores",
    "club.db.models.counter",
    "club.db.models.segments",
    "club.db.models.campaigns",
    "club.db.models.staff_wechat",
    "club.db.models.value",
    "club.db.models.accounts",
    "club.db.models.service",
    # Each feature appends its module here once it has models.
]
MIGRATIONS_MODULE = "club.db.migrations"


REPLICA = "replica"
"""The connection reports read from when DATABASE_REPLICA_URL is set (else they use default)."""


def tortoise_config(
    database_url: str, *, timezone: str = "Asia/Shanghai", replica_url: str | None = None
) -> dict[str, Any]:
    """The dict `Tortoise.init(config=...)` and the migration CLI take.

    Times are stored aware (use_tz) in UTC; `timezone` is what naive reads would be read as.
    `replica_url`: a read-only copy of the database (PostgreSQL streaming replica) that the
    reports read from; no model writes to it and migrations never touch it.
    """
    connections: dict[str, Any] = {"default": _connection(database_url)}
    if replica_url:
        connections[REPLICA] = _connection(replica_url)
    return {
        "connections": connections,
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": timezone,
    }


async def _keep_session(connection: object) -> None:
    """asyncpg's pool runs `RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()` on every
    release: a second round trip per query (measured: 355 -> 170 us for `SELECT 1`). clubbot sets
    no session state, listens to nothing and takes no advisory locks, so it is skipped. The pool
    still rolls back a transaction left open before calling this."""


def _connection(database_url: str) -> str | dict[str, Any]:
    if not database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return database_url
    expanded = expand_db_url(database_url)
    expanded["credentials"]["reset"] = _keep_session
    return expanded


# For tortoise's own CLI (`tortoise -c club.db.config.TORTOISE_ORM makemigrations`): the models
# and migrations of the app. The URL only matters for `migrate`; our `python -m bot migrate`
# builds its config from DATABASE_URL instead.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
