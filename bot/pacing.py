"""The campaign pace shared by every worker and host: a Redis rate limiter (GCRA).

One script call reserves the caller's slots: the key keeps the theoretical arrival time (TAT) of
the next message in microseconds of Redis's own clock, so workers on hosts with skewed clocks
still share one schedule. Each call moves the TAT on by one interval per message reserved (a
batch reserves all its messages in one call) and answers how long the caller must wait for its
first slot; callers sleep until each slot and send. Nothing bursts (no tolerance):
N callers together get `per_second` slots a second, evenly spaced. A worker that dies after
reserving wastes one slot, nothing more. The key expires soon after the last reservation.
"""

from __future__ import annotations

import asyncio

from bot import keys
from bot.kv import Redis

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local after = tat + interval * count
local ttl = math.floor((after - now) / 1000) + 60000
redis.call('SET', KEYS[1], tostring(after), 'PX', ttl)
return tat - now
"""


class RedisPacer:
    """`club.messaging.pacing.Pacer` on the shared store."""

    def __init__(self, store: Redis) -> None:
        self._store = store
        self._script = store.register_script(_RESERVE)

    async def wait(self, key: str, per_second: float) -> None:
        [delay] = await self.slots(key, per_second, 1)
        if delay > 0:
            await asyncio.sleep(delay)

    async def slots(self, key: str, per_second: float, count: int) -> list[float]:
        if per_second <= 0:
            raise ValueError("a pace is a positive number of messages a second")
        if count <= 0:
            return []
        interval_us = max(1, round(1_000_000 / per_second))
        first_us = int(await self._script(keys=[keys.pace(key)], args=[interval_us, count]))
        return [(first_us + i * interval_us) / 1_000_000 for i in range(count)]
