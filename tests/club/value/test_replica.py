"""Reports read from the replica connection when DATABASE_REPLICA_URL configures one."""

from __future__ import annotations

from tortoise import connections

from club.db.connect import database
from club.reports.sql import fetch, read_connection
from tests.conftest import TEST_DB_URL


async def test_without_a_replica_reports_read_the_main_database() -> None:
    async with database(TEST_DB_URL, create_schema=True):
        assert read_connection() is connections.get("default")


async def test_with_a_replica_reports_read_it(pg_only: None) -> None:
    # The same server stands in for the replica: what matters is which connection is used.
    async with database(TEST_DB_URL, create_schema=True, replica_url=TEST_DB_URL):
        replica = connections.get("replica")
        assert read_connection() is replica
        assert replica is not connections.get("default")
        rows = await fetch("SELECT current_database() AS db")
        assert rows[0]["db"] == TEST_DB_URL.rsplit("/", 1)[1]
