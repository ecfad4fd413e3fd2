"""Fixtures of the sending-side tests: a local fake WeChat API and a sender that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.kv import Redis
from bot.metrics import Metrics
from bot.wechat.api import RetryPolicy, WeChatAPI
from bot.wechat.sender import WeChatSender
from club.clock import FixedClock
from club.messaging.delivery import Delivery
from club.messaging.plan import delivery_rules
from club.programme import Programme, load_programme
from tests.conftest import make_settings
from tests.fakes import FakeWeChat


@pytest.fixture
async def delivery(
    db: None, fake: FakeWeChat, store: Redis, clock: FixedClock
) -> AsyncIterator[Delivery]:
    settings = make_settings(wechat_api_base=fake.base_url, wechat_dry_run=False)
    async with aiohttp.ClientSession() as http:
        api = WeChatAPI(
            http=http,
            store=store,
            settings=settings,
            metrics=Metrics(),
            retry=RetryPolicy(retries=0),  # the outbox's own back-off is what is tested here
        )
        yield Delivery(WeChatSender(api), delivery_rules(load_programme(None)), clock)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)
