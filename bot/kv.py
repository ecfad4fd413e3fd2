"""The shared key-value store: Redis when REDIS_URL is set, an in-process stand-in otherwise.

Both speak the `redis.asyncio.Redis` API, so nothing else needs to know which one it has. The
stand-in is fakeredis with Lua (for redis-py's `Lock`); it serves one process only, which is why
`--workers` above 1 is refused without REDIS_URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import redis.asyncio as aioredis

if TYPE_CHECKING:
    from config import Settings

Redis = aioredis.Redis


def open_store(settings: Settings) -> Redis:
    if settings.redis_url:
        return aioredis.from_url(settings.redis_url, decode_responses=False)
    return in_process_store()


def in_process_store() -> Redis:
    import fakeredis  # imported here: production with REDIS_URL never needs it

    return cast(Redis, fakeredis.FakeAsyncRedis(decode_responses=False))
