"""The shared key-value store: Redis when REDIS_URL is set, an in-process stand-in otherwise.

Both speak the `redis.asyncio.Redis` API, so nothing else needs to know which one it has. The
stand-in is fakeredis with Lua (for redis-py's `Lock`); it serves one process only, which is why
`--workers` above 1 is refused without REDIS_URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import redis.asyncio as aioredis

from bot import keys

if TYPE_CHECKING:
    from config import Settings

Redis = aioredis.Redis


# redis-py's default pool raises "Too many connections" once 100 are in use, which a burst of
# callbacks reaches (measured: 200 concurrent requests to one worker got 76 answers of 500). A
# blocking pool makes the excess wait briefly for a free connection instead.
STORE_MAX_CONNECTIONS = 200
STORE_POOL_WAIT_S = 2.0


def open_store(settings: Settings) -> Redis:
    keys.use_prefix(settings.redis_prefix)  # the keys this process builds in it
    if settings.redis_url:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=STORE_MAX_CONNECTIONS,
            timeout=STORE_POOL_WAIT_S,
            decode_responses=False,
        )
        return aioredis.Redis.from_pool(pool)
    return in_process_store()


def in_process_store() -> Redis:
    import fakeredis  # imported here: production with REDIS_URL never needs it

    return cast(Redis, fakeredis.FakeAsyncRedis(decode_responses=False))


_RELEASE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


async def release_if_ours(store: Redis, key: str, token: str) -> None:
    """Delete the lock `key` only while it still holds our `token`: it may have expired and
    been taken by another process meanwhile (one script, so nothing comes between the two)."""
    await store.eval(_RELEASE_IF_OURS, 1, key, token)  # type: ignore[no-untyped-call]
