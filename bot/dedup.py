"""De-duplication of WeChat's retries, shared by every worker through the store.

WeChat retries a message it got no answer for within 5 seconds, three tries in all. The first
arrival claims the message key (`SET NX`); later arrivals wait for the outcome and answer the same:

- `R` running: the first arrival is still working; wait.
- `=<body>` done: the passive reply (plaintext XML, or `success`); answer it again.
- `D` deferred: the reply went (or will go) out by the customer-service API; answer `success`.

A crashed worker's `R` expires after `DEDUP_RUNNING_TTL_S`, so a later retry can run it again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import keys

if TYPE_CHECKING:
    from bot.kv import Redis

RUNNING = b"R"
DEFERRED = b"D"
DONE = b"="
POLL_S = 0.02


@dataclass(frozen=True)
class Outcome:
    body: bytes | None
    """The cached answer; None means `success` (deferred, or still running at our deadline)."""


class Dedup:
    def __init__(self, store: Redis) -> None:
        self._store = store

    async def claim(self, key: str) -> bool:
        """True if this arrival is the first and must run the handler."""
        return bool(
            await self._store.set(keys.dedup(key), RUNNING, nx=True, ex=keys.DEDUP_RUNNING_TTL_S)
        )

    async def finish(self, key: str, body: bytes) -> None:
        await self._store.set(keys.dedup(key), DONE + body, ex=keys.DEDUP_TTL_S)

    async def defer(self, key: str) -> None:
        await self._store.set(keys.dedup(key), DEFERRED, ex=keys.DEDUP_TTL_S)

    async def release(self, key: str) -> None:
        """Forget a claim that produced nothing, so a retry runs the message again."""
        await self._store.delete(keys.dedup(key))

    async def wait(self, key: str, *, patience: float) -> Outcome | None:
        """The first arrival's outcome; None if the claim vanished (the caller may claim it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while True:
            value = await self._store.get(keys.dedup(key))
            if value is None:
                return None
            if isinstance(value, str):  # a store opened with decode_responses
                value = value.encode("utf-8")
            if value.startswith(DONE):
                return Outcome(value[len(DONE) :])
            if value == DEFERRED:
                return Outcome(None)
            if loop.time() >= deadline:
                return Outcome(None)  # the first arrival will deliver by the API
            await asyncio.sleep(POLL_S)
