"""The campaign pace shared by every worker and host: a Redis rate limiter (GCRA).

One script call reserves the caller's slot: the key keeps the theoretical arrival time (TAT) of
the next message in microseconds of Redis's own clock, so workers on hosts with skewed clocks
still share one schedule. Each call moves the TAT on by one interval and answers how long the
caller must wait for its slot; callers sleep that long and send. Nothing bursts (no tolerance):
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
local ttl = math.floor((tat + interval - now) / 1000) + 60000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ttl)
return tat - now
"""


class RedisPacer:
    """`club.messaging.pacing.Pacer` on the shared store."""

    def __init__(self, store: Redis) -> None:
        self._store = store
        self._script = store.register_script(_RESERVE)

    async def wait(self, key: str, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("a pace is a positive number of messages a second")
        interval_us = max(1, round(1_000_000 / per_second))
        delay_us = int(await self._script(keys=[keys.pace(key)], args=[interval_us]))
        if delay_us > 0:
            await asyncio.sleep(delay_us / 1_000_000)
