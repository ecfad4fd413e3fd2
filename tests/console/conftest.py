"""A fresh app per test, as the composition root builds it (the console included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.kv import Redis
from club.clock import FixedClock
from club.db.testing import clear_all_tables
from clubbot.web import create_app
from config import Settings
from tests.bot.test_staff_api_support import NOW


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def console_client(
    settings: Settings, clock: FixedClock, store: Redis
) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(app)) as client:
        await clear_all_tables()
        yield client
