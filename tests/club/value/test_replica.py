"""Reports read from the replica connection when DATABASE_REPLICA_URL configures one."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from tortoise import connections
from tortoise.transactions import in_transaction

from bot.kv import Redis
from club.clock import FixedClock
from club.db.connect import database
from club.db.testing import clear_all_tables
from club.reports.sql import REPORT_WORK_MEM, fetch, read_connection
from clubbot.web import create_app
from tests.bot.test_staff_api_support import staff_headers
from tests.conftest import TEST_DB_URL, make_settings


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


async def test_the_app_reads_reports_from_the_configured_replica(
    pg_only: None, clock: FixedClock, store: Redis
) -> None:
    settings = make_settings(database_replica_url=TEST_DB_URL)
    app = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(app)) as client:
        await clear_all_tables()
        assert "replica" in connections.db_config
        headers = (await staff_headers())["marketer"]
        resp = await client.get("/api/v1/reports/tiers", headers=headers)
        assert resp.status == 200, await resp.text()


async def test_report_queries_sort_and_hash_in_memory_without_changing_other_queries(
    pg_only: None,
) -> None:
    # At the server's 4 MB a spilled hash aggregate ran for minutes (club.reports.sql): a
    # report query gets REPORT_WORK_MEM, in its own transaction, and the pooled connection
    # goes back to the server's setting for everything else.
    async with database(TEST_DB_URL, create_schema=True, replica_url=TEST_DB_URL):
        for conn in (None, connections.get("default")):
            rows = await fetch("SELECT current_setting('work_mem') AS mem", conn=conn)
            assert rows[0]["mem"] == REPORT_WORK_MEM
        for name in ("default", "replica"):
            plain = await connections.get(name).execute_query_dict(
                "SELECT current_setting('work_mem') AS mem"
            )
            assert plain[0]["mem"] != REPORT_WORK_MEM
        async with in_transaction("default") as tx:
            rows = await fetch("SELECT current_setting('work_mem') AS mem", conn=tx)
            assert rows[0]["mem"] == REPORT_WORK_MEM
