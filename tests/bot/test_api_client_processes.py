"""Single flight across processes: several workers on the real Redis fetch one token."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import APPID, TEST_REDIS_PREFIX, TEST_REDIS_URL, delete_prefixed
from tests.fakes import FakeWeChat

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# One worker process: waits for the common start time, then 5 concurrent callers want a token.
WORKER = """
import asyncio, sys, time
import aiohttp
import redis.asyncio as aioredis
from bot import keys
from bot.metrics import Metrics
from bot.wechat.api import account_client
from config import Settings

async def main(base, redis_url, start):
    settings = Settings.from_env(
        wechat_appid=sys.argv[4], wechat_secret="test-secret", wechat_token="t",
        wechat_api_base=base, redis_url=redis_url, database_url="sqlite://:memory:",
        _env_file=None,
    )
    keys.use_prefix(settings.redis_prefix)  # REDIS_PREFIX from the environment
    store = aioredis.from_url(redis_url)
    async with aiohttp.ClientSession() as http:
        api = account_client(settings, http=http, store=store, metrics=Metrics())
        await asyncio.sleep(max(0.0, start - time.time()))
        tokens = await asyncio.gather(*(api.tokens.get() for _ in range(5)))
    await store.aclose()
    print(" ".join(tokens))

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
"""


async def test_four_worker_processes_fetch_one_token(redis_only: None) -> None:
    assert TEST_REDIS_URL is not None
    import redis.asyncio as aioredis

    store = aioredis.from_url(TEST_REDIS_URL)
    await delete_prefixed(store)
    await store.aclose()
    async with FakeWeChat(appid=APPID) as fake:
        fake.slow("stable_token", 1.0)  # long enough for every process to be waiting on it
        start = time.time() + 2.0
        env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_PREFIX": TEST_REDIS_PREFIX}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WORKER,
                fake.base_url,
                TEST_REDIS_URL,
                str(start),
                APPID,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            for _ in range(4)
        ]
        results = [await p.communicate() for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()
        assert out.decode().split() == ["ACCESS_TOKEN_1"] * 5
    assert fake.count("stable_token") == 1
