from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.kv import Redis
from club.clock import FixedClock
from tests.handlers.chat import Chat


@pytest.fixture
def chat(client: TestClient[web.Request, web.Application], clock: FixedClock, store: Redis) -> Chat:
    return Chat(client, clock, store)
