"""The native migrations build the schema the models describe, on this pass's database."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.migrations import operations as ops

from club.db import migrations as migrations_package
from club.db.connect import database
from club.db.migrate import migrate, unmigrated_changes
from club.db.models.members import Member
from tests.conftest import ON_POSTGRES, TEST_DB_URL


async def test_models_have_no_changes_without_a_migration() -> None:
    # Fails when a model changes and nobody ran `tortoise -c club.db.config.TORTOISE_ORM
    # makemigrations`: the schema in production would fall behind the code.
    assert await unmigrated_changes(TEST_DB_URL) == []


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all: a SQLite file, or a scratch PostgreSQL database."""
    if not ON_POSTGRES:
        yield f"sqlite://{tmp_path}/fresh/clubbot.sqlite3"
        return
    name = f"clubbot_migrate_{uuid.uuid4().hex[:8]}"
    server, _, _ = TEST_DB_URL.rpartition("/")
    admin = await asyncpg.connect(TEST_DB_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{server}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def table_columns() -> dict[str, set[str]]:
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps.get_models_iterable()]  # type: ignore[attr-defined]
    found: dict[str, set[str]] = {}
    for table in tables:
        if conn.capabilities.dialect == "postgres":
            rows = await conn.execute_query_dict(
                "SELECT column_name AS name FROM information_schema.columns WHERE table_name = $1",
                [table],
            )
        else:
            rows = await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
        found[table] = {row["name"] for row in rows}
    return found


async def test_migrations_build_every_model_table_upgrade_rows_and_run_twice(
    empty_database: str,
) -> None:
    """The migrations build every model's table, also as an upgrade of a database that holds
    rows (a NOT NULL column needs a default in the database, `db_default`, or adding it fails:
    "contains null values", and the deploy with it), and a second run changes nothing."""
    await migrate(empty_database, upto="0026_run_progress")  # as an earlier release left it
    async with database(empty_database):
        # The 0026 schema, not the models: this process's models have the newer columns.
        await Tortoise.get_connection("default").execute_query(
            "INSERT INTO ranking (start_day, end_day, rules, as_of, snapshot, computed_at,"
            " read_at, customers) VALUES ('2026-03-01', '2026-05-31', 'r', '2026-11-23',"
            " 1 = 0, '2026-11-23 02:00:00+08:00', '2026-11-23 02:00:00+08:00', 0)"
        )
    await migrate(empty_database)
    await migrate(empty_database)  # a second run applies nothing and fails on nothing

    async with database(empty_database):
        columns = await table_columns()
        for model in Tortoise.apps.get_models_iterable():  # type: ignore[attr-defined]
            expected = set(model._meta.fields_db_projection.values())
            assert expected <= columns[model._meta.db_table], model.__name__
        [ranking] = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT ahead FROM ranking"
        )
        assert not ranking["ahead"]
        # The migrated schema works for the ORM: write and read a member.
        member = await Member.create(openid="o-migrated")
        assert (await Member.get(openid="o-migrated")).id == member.id


# Added before any database held rows to upgrade (kept as they were applied).
ADDED_WITHOUT_A_DEFAULT_BEFORE = "0027"


def test_every_column_added_later_has_a_default_in_the_database() -> None:
    """A NOT NULL column a migration adds to an existing table needs a database default
    (`db_default`): the ORM's `default` is Python's, and the rows already there have none."""
    folder = Path(migrations_package.__file__).parent
    wanting = []
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.py")):
        if path.name < ADDED_WITHOUT_A_DEFAULT_BEFORE:
            continue
        module = importlib.import_module(f"{migrations_package.__name__}.{path.stem}")
        for op in module.Migration.operations:
            if not isinstance(op, ops.AddField):
                continue
            if not op.field.null and not op.field.has_db_default():
                wanting.append(f"{path.stem}: {op.model_name}.{op.name}")
    assert wanting == []
