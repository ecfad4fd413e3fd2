"""Fixtures of the sending-side tests: a local fake WeChat API and an outbox that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.kv import Redis
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.wechat.api import RetryPolicy, WeChatAPI
from club.clock import FixedClock
from club.programme import Programme, load_programme
from tests.conftest import make_settings
from tests.fakes import FakeWeChat


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


@pytest.fixture
async def outbox(
    db: None, fake: FakeWeChat, store: Redis, clock: FixedClock
) -> AsyncIterator[Outbox]:
    settings = make_settings(wechat_api_base=fake.base_url, wechat_dry_run=False)
    async with aiohttp.ClientSession() as http:
        api = WeChatAPI(
            http=http,
            store=store,
            settings=settings,
            metrics=Metrics(),
            retry=RetryPolicy(retries=0),  # the outbox's own back-off is what is tested here
        )
        yield Outbox(api=api, settings=settings, clock=clock)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)
