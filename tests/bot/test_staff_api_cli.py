"""`staff_add` (behind `python -m bot staff add`) makes a token that works and is stored hashed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.kv import in_process_store
from bot.staff_api.cli import staff_add
from club.clock import FixedClock
from club.db.connect import database
from club.db.models.staff import StaffUser
from club.db.testing import clear_all_tables
from club.staff.accounts import StaffError, hash_token
from clubbot.web import create_app
from tests.bot.test_staff_api_support import NOW
from tests.conftest import ON_POSTGRES, TEST_DB_URL, make_settings


def _db_url(tmp_path: Path) -> str:
    # One process keeps one database backend (tortoise caches SQL per model): on the
    # PostgreSQL pass this test uses the test database, on the default pass a file.
    return TEST_DB_URL if ON_POSTGRES else f"sqlite://{tmp_path}/staff.sqlite3"


async def _empty(url: str) -> None:
    async with database(url, create_schema=True):
        await clear_all_tables()


async def _use(url: str, token: str) -> tuple[int, int, str]:
    settings = make_settings(database_url=url, redis_url=None)
    app = create_app(settings, clock=FixedClock(NOW), store=in_process_store(), create_schema=True)
    async with TestClient(TestServer(app)) as client:
        good = await client.get("/api/v1/members/1", headers={"Authorization": f"Bearer {token}"})
        bad = await client.get("/api/v1/members/1", headers={"Authorization": "Bearer x" + token})
        users = await StaffUser.all()
        assert len(users) == 1
        return good.status, bad.status, users[0].token_hash


def test_staff_add_returns_a_working_token_stored_only_hashed(tmp_path: Path) -> None:
    url = _db_url(tmp_path)
    asyncio.run(_empty(url))
    settings = make_settings(database_url=url, redis_url=None)
    token = staff_add(settings, "wang.li", "clerk", create_schema=True)
    assert len(token) >= 40
    good, bad, stored = asyncio.run(_use(url, token))
    assert good == 404  # authenticated; there is simply no member 1
    assert bad == 401
    assert stored == hash_token(token) and token not in stored


def test_staff_add_refuses_a_bad_role_and_a_taken_name(tmp_path: Path) -> None:
    url = _db_url(tmp_path)
    asyncio.run(_empty(url))
    settings = make_settings(database_url=url, redis_url=None)
    with pytest.raises(StaffError, match="role must be one of admin, marketer, clerk"):
        staff_add(settings, "ann", "boss", create_schema=True)
    staff_add(settings, "ann", "admin", create_schema=True)
    with pytest.raises(StaffError, match="already exists"):
        staff_add(settings, "ann", "clerk", create_schema=True)
    with pytest.raises(StaffError, match="staff name"):
        staff_add(settings, "has space", "clerk", create_schema=True)
