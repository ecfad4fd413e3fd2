"""Fixtures of the sending-side tests: a local fake WeChat API and a sender that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.kv import Redis
from bot.wechat.api import RetryPolicy
from bot.wechat.sender import WeChatSender
from club.clock import FixedClock
from club.messaging.delivery import Delivery
from club.messaging.plan import delivery_rules
from club.programme import Programme, load_programme
from tests.bot.test_sending import make_api
from tests.fakes import FakeWeChat


@pytest.fixture
async def delivery(
    db: None, fake: FakeWeChat, store: Redis, clock: FixedClock
) -> AsyncIterator[Delivery]:
    async with aiohttp.ClientSession() as http:
        # No client retries: the outbox's own back-off is what is tested here.
        api = make_api(fake.base_url, http, store, retry=RetryPolicy(retries=0))
        yield Delivery(WeChatSender(api), delivery_rules(load_programme(None)), clock)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)
