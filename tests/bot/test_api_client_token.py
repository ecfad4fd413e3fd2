"""The shared access token: single flight across workers, early renewal, nothing leaked.

`store` is the real Redis on the real-servers pass and the in-process stand-in otherwise, so the
single-flight tests run against both.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot import keys
from bot.kv import Redis
from bot.wechat.api import RetryPolicy, WeChatAPI
from bot.wechat.errors import WeChatAPIError
from tests.bot.test_sending import make_api
from tests.conftest import APPID
from tests.fakes import FakeWeChat

OPENID = "oQwErTyUiOp1234567890abcd"
FAST = RetryPolicy(retries=2, base_delay_s=0.01, max_delay_s=0.02)


def worker(fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, **kw: object) -> WeChatAPI:
    """One worker's client: its own instance (its own in-process lock), the shared store."""
    return make_api(fake.base_url, http, store, retry=FAST, sleep=asyncio.sleep, **kw)


async def test_twenty_workers_on_a_cold_cache_fetch_one_token(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    fake.slow("stable_token", 0.2)  # a slow token answer: the others must wait, not fetch
    workers = [worker(fake, http, store) for _ in range(20)]
    await asyncio.gather(*(w.send_text(OPENID, f"hi {i}") for i, w in enumerate(workers)))
    assert fake.count("stable_token") == 1
    sends = fake.calls("message/custom/send")
    assert len(sends) == 20
    assert {c.access_token for c in sends} == {"ACCESS_TOKEN_1"}


async def test_twenty_callers_in_one_worker_fetch_one_token(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    fake.slow("stable_token", 0.2)
    api = worker(fake, http, store)
    tokens = await asyncio.gather(*(api.tokens.get() for _ in range(20)))
    assert set(tokens) == {"ACCESS_TOKEN_1"}
    assert fake.count("stable_token") == 1


async def test_the_token_is_cached_in_the_store_with_its_lifetime(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = worker(fake, http, store)
    await api.send_text(OPENID, "a")
    await api.send_text(OPENID, "b")
    assert fake.count("stable_token") == 1
    assert await store.get(keys.access_token(APPID)) == b"ACCESS_TOKEN_1"
    assert 7000 < await store.ttl(keys.access_token(APPID)) <= 7200
    assert await store.get(keys.access_token_lock(APPID)) is None


async def test_a_token_with_under_five_minutes_left_is_renewed(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    await store.set(keys.access_token(APPID), "OLD_TOKEN", ex=299)
    api = worker(fake, http, store)
    assert await api.tokens.get() == "ACCESS_TOKEN_1"
    assert fake.count("stable_token") == 1


async def test_a_token_with_more_left_is_used_as_is(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    await store.set(keys.access_token(APPID), "OLD_TOKEN", ex=301)
    api = worker(fake, http, store)
    assert await api.tokens.get() == "OLD_TOKEN"
    assert fake.count("stable_token") == 0


async def test_while_another_worker_renews_the_old_token_is_still_used(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    await store.set(keys.access_token(APPID), "OLD_TOKEN", ex=100)
    await store.set(keys.access_token_lock(APPID), "someone-else", ex=10)
    api = worker(fake, http, store)
    assert await api.tokens.get() == "OLD_TOKEN"
    assert fake.count("stable_token") == 0


async def test_a_short_lived_answer_does_not_cause_a_fetch_per_call(
    http: aiohttp.ClientSession, store: Redis
) -> None:
    # WeChat may hand out a token that is already inside our renewal margin.
    async with FakeWeChat(token_ttl=200) as fake:
        api = worker(fake, http, store)
        for _ in range(5):
            await api.send_text(OPENID, "hi")
        assert fake.count("stable_token") == 1


async def test_a_token_refusal_is_raised_and_releases_the_lock(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = worker(fake, http, store, wechat_secret="wrong-secret")
    with pytest.raises(WeChatAPIError) as caught:
        await api.send_text(OPENID, "hi")
    assert caught.value.errcode == 40125
    assert "wrong-secret" not in str(caught.value)
    assert fake.count("stable_token") == 1  # a refusal is not retried
    assert fake.count("message/custom/send") == 0
    assert await store.get(keys.access_token_lock(APPID)) is None


async def test_the_force_refresh_guard_is_shared_by_workers(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    first, second = worker(fake, http, store), worker(fake, http, store)
    await first.send_text(OPENID, "warm up")
    fake.script("message/custom/send", [40001])
    await first.send_text(OPENID, "a")
    fake.script("message/custom/send", [40001])
    await second.send_text(OPENID, "b")
    assert [c.body["force_refresh"] for c in fake.calls("stable_token")] == [False, True, False]
    assert 0 < await store.ttl(keys.force_refresh_guard(APPID)) <= keys.FORCE_REFRESH_INTERVAL_S
