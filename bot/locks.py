"""One message at a time per member, across every worker (a lock key in the store).

Double taps and WeChat's retries of different messages must not interleave: a dialog step reads
and writes the member's state, and two of them at once would lose one. The lock expires after
`MEMBER_LOCK_TTL_S` so a crashed worker cannot block a member for long.

redis-py's `Lock` protocol: SET NX PX with a random token, released by a compare-and-delete
script so a holder whose lock expired never deletes the next holder's. The callback takes the
lock inside its own script (`bot.turns`) and `adopt`s it here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from bot import keys

if TYPE_CHECKING:
    from bot.kv import Redis

log = logging.getLogger(__name__)

RETRY_S = 0.01
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class MemberBusy(Exception):
    """The member's previous message is still being handled after the wait allowed."""


class MemberLock:
    def __init__(
        self,
        store: Redis,
        openid: str,
        *,
        ttl: float = keys.MEMBER_LOCK_TTL_S,
        wait: float = keys.MEMBER_LOCK_WAIT_S,
    ) -> None:
        self._store = store
        self.openid = openid
        self.key = keys.member_lock(openid)
        self.ttl_ms = int(ttl * 1000)
        self._wait = wait
        self.token = secrets.token_hex(8).encode("ascii")
        self.held = False

    def adopt(self) -> None:
        """The lock was taken with this object's token by a script of the caller's."""
        self.held = True

    async def acquire(self, *, peek: str | None = None, until: float | None = None) -> bytes | None:
        """Take the lock (waiting up to `wait`, or until the loop time `until`); returns the
        value of `peek` read just after (safe to use: only lock holders write what the lock
        protects)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait if until is None else until
        while True:
            pipe = self._store.pipeline(transaction=True)
            pipe.set(self.key, self.token, nx=True, px=self.ttl_ms)
            if peek is not None:
                pipe.get(peek)
            results: list[Any] = await pipe.execute()
            if results[0]:
                self.held = True
                value = results[1] if peek is not None else None
                return value.encode("utf-8") if isinstance(value, str) else value
            if loop.time() >= deadline:
                raise MemberBusy(self.openid)
            await asyncio.sleep(RETRY_S)

    def released_by_caller(self) -> None:
        """The caller's script released the lock (see `bot.turns.leave`)."""
        self.held = False

    async def release(self) -> None:
        if not self.held:
            return
        self.held = False
        deleted = await self._store.eval(RELEASE, 1, self.key, self.token)  # type: ignore[misc]
        if not deleted:
            log.warning("member lock expired before release", extra={"openid": self.openid})


@asynccontextmanager
async def member_lock(
    store: Redis, openid: str, *, wait: float = keys.MEMBER_LOCK_WAIT_S
) -> AsyncIterator[MemberLock]:
    lock = MemberLock(store, openid, wait=wait)
    await lock.acquire()
    try:
        yield lock
    finally:
        await lock.release()
