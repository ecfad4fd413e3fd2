"""Shared fixtures.

The suite runs twice in CI: on SQLite with the in-process store (the default), and on the real
PostgreSQL and Redis when CLUBBOT_TEST_DATABASE_URL / CLUBBOT_TEST_REDIS_URL are set. Tests that
only make sense on the real servers (concurrency, multi-process) use the `pg_only` /
`redis_only` markers' fixtures below and are skipped on the embedded pass.

Every key a test session writes to Redis, the queue's stream included, starts with a prefix of
its own (`TEST_REDIS_PREFIX`, passed to the app as REDIS_PREFIX and to subprocesses in their
environment): two suites, or a running bot, on the same Redis never read, clear or consume each
other's keys. Between tests only this session's keys are deleted, never the whole database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot import keys
from bot.kv import Redis, in_process_store
from club.clock import FixedClock
from club.db.connect import database
from club.db.migrate import migrate
from club.db.testing import clear_all_tables
from clubbot.web import create_app
from config import Settings
from tests.fakes import FakeWeChat

TZ = ZoneInfo("Asia/Shanghai")
TEST_DB_URL = os.environ.get("CLUBBOT_TEST_DATABASE_URL", "sqlite://:memory:")
TEST_REDIS_URL = os.environ.get("CLUBBOT_TEST_REDIS_URL") or None
ON_POSTGRES = TEST_DB_URL.startswith(("postgres://", "postgresql://", "asyncpg://"))
TEST_REDIS_PREFIX = f"clubbot-test-{uuid.uuid4().hex[:12]}"
"""This session's Redis key prefix (REDIS_PREFIX): unique per run."""


def pytest_configure(config: pytest.Config) -> None:
    """Children of the tests' event loops are reaped through pidfds (Python 3.12 does so itself).

    Python 3.11's default watcher reaps each child from a thread, freeing its pid even when the
    test's loop has closed before the exit could be told to it (a test that ended, or failed,
    with its subprocess still running). Its transport then still takes the child for running,
    and when the collector frees it later it kills the pid with SIGKILL: with pid_max at 32,768
    and a test run using tens of thousands of pids, by then the pid can be another child of the
    same pytest process, such as a later test's `python -m scheduler run birthday`, which dies
    at once with no output. Through a pidfd an uncollected child stays a zombie, its pid taken,
    until its own transport reaps it."""
    if sys.version_info < (3, 12) and sys.platform == "linux":
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


@pytest.fixture(scope="session", autouse=True)
def session_redis_prefix() -> Iterator[None]:
    """Keys built in this process (tests call `bot.keys` too) carry the session's prefix; at
    the end the session's keys are deleted from the real Redis."""
    keys.use_prefix(TEST_REDIS_PREFIX)
    yield
    if TEST_REDIS_URL:
        asyncio.run(_delete_session_keys())


async def _delete_session_keys() -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(TEST_REDIS_URL or "")
    try:
        await delete_prefixed(client)
    finally:
        await client.aclose()


async def delete_prefixed(client: Redis) -> None:
    """Delete this session's keys (and only those)."""
    batch: list[bytes] = []
    async for key in client.scan_iter(match=keys.pattern(), count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await client.unlink(*batch)
            batch.clear()
    if batch:
        await client.unlink(*batch)


@pytest.fixture(scope="session", autouse=True)
def fresh_postgres_schema() -> None:
    """On the real-servers pass, start the session from an empty schema.

    Tests build tables with `generate_schemas(safe=True)`, which never alters a table that
    exists: a column added since the last run would be missing. One drop per session avoids it.
    """
    if not ON_POSTGRES:
        return
    import asyncio

    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(TEST_DB_URL.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    asyncio.run(reset())


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """`migrated_sqlite(path)`: a SQLite file the migrations built, copied to `path`; its URL.

    For tests of what runs on an embedded database that has been migrated (CLI commands), not
    of the migrations themselves (tests/club/test_migrations.py, tests/bot/test_embedded.py):
    one run of every migration takes 8-10 s of CPU here, so the session makes the file once
    and each test gets a copy of its own. Tortoise caches INSERT statements per connection name
    whatever the database (`EXECUTOR_CACHE`): the migrations' own SQLite statements are kept
    out of the cache the PostgreSQL pass's tests use."""
    template = tmp_path_factory.mktemp("migrated") / "club.sqlite3"
    before = dict(EXECUTOR_CACHE)
    EXECUTOR_CACHE.clear()
    try:
        asyncio.run(migrate(f"sqlite://{template}"))
    finally:
        EXECUTOR_CACHE.clear()
        EXECUTOR_CACHE.update(before)

    def copy(path: Path) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite://{path}"

    return copy


APPID = "wx5823bf96d3bd56c7"
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def make_settings(**overrides: object) -> Settings:
    """Settings for a test: explicit secrets, test database and store, dry-run on."""
    values: dict[str, object] = {
        "wechat_appid": APPID,
        "wechat_secret": "test-secret",
        "wechat_token": TOKEN,
        "wechat_aes_key": None,
        "database_url": TEST_DB_URL,
        "redis_url": TEST_REDIS_URL,
        "redis_prefix": TEST_REDIS_PREFIX,
        "wechat_dry_run": True,
        "club_config": None,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings.from_env(**values)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def store() -> AsyncIterator[Redis]:
    """The shared store: the real Redis (this session's keys cleared before and after: a lock a
    test leaves, a killed job's for one, would make a later test's processes find it busy) in
    CI's second pass, else the stand-in."""
    if TEST_REDIS_URL:
        import redis.asyncio as aioredis

        client: Redis = aioredis.from_url(TEST_REDIS_URL)
        await delete_prefixed(client)
    else:
        client = in_process_store()
    try:
        yield client
    finally:
        if TEST_REDIS_URL:
            await delete_prefixed(client)
        await client.aclose()


@pytest.fixture
async def db() -> AsyncIterator[None]:
    """An initialised, empty database for service-level tests (no app)."""
    async with database(TEST_DB_URL, create_schema=True):
        await clear_all_tables()
        yield


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    """A local fake WeChat API server with its default appid (API client tests)."""
    async with FakeWeChat() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChat]:
    """A local fake WeChat API server; point `make_settings(wechat_api_base=...)` at its URL."""
    async with FakeWeChat(appid=APPID) as server:
        yield server


@pytest.fixture
def pg_only() -> None:
    if not ON_POSTGRES:
        pytest.skip("needs the real PostgreSQL (CLUBBOT_TEST_DATABASE_URL)")


@pytest.fixture
def redis_only() -> None:
    if not TEST_REDIS_URL:
        pytest.skip("needs the real Redis (CLUBBOT_TEST_REDIS_URL)")


@pytest.fixture
async def client(
    settings: Settings, clock: FixedClock, store: Redis
) -> AsyncIterator[TestClient[object, object]]:
    """A fresh app per test, on an empty database."""
    app = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(app)) as test_client:
        await clear_all_tables()
        yield test_client
