"""One message at a time per member, across every worker (a lock key in the store).

Double taps and WeChat's retries of different messages must not interleave: a dialog step reads
and writes the member's state, and two of them at once would lose one. The lock expires after
`MEMBER_LOCK_TTL_S` so a crashed worker cannot block a member for long.

It is redis-py's `Lock` protocol (SET NX PX with a random token) made cheaper for the callback's
hot path: acquiring can read another key in the same round trip (the member's dialog state, which
only the lock holder writes), and releasing is a plain DEL, added to the caller's pipeline, while
the lock is certainly still ours (well inside its expiry); only a holder that ran close to the
expiry pays for the compare-and-delete.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from redis.exceptions import WatchError

from bot import keys

if TYPE_CHECKING:
    from bot.kv import Redis

log = logging.getLogger(__name__)

SAFETY_S = 5.0
"""Below `ttl - SAFETY_S` seconds of holding, nobody else can have taken the lock."""
RETRY_S = 0.01


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
        self._ttl = ttl
        self._wait = wait
        self._token = secrets.token_hex(8).encode("ascii")
        self._acquired_at: float | None = None

    @property
    def held(self) -> bool:
        return self._acquired_at is not None

    def try_in(self, pipe: Any, *, peek: str | None = None) -> int:
        """Add one attempt to `pipe` (and a read of `peek`); returns how many results it adds."""
        pipe.set(self.key, self._token, nx=True, px=int(self._ttl * 1000))
        if peek is None:
            return 1
        pipe.get(peek)
        return 2

    def took(self, results: list[Any]) -> bytes | None:
        """Read the results of `try_in`: marks the lock held if the SET won; the peeked value."""
        if not results[0]:
            return None
        self._acquired_at = asyncio.get_running_loop().time()
        value = results[1] if len(results) > 1 else None
        return value.encode("utf-8") if isinstance(value, str) else value

    async def acquire(self, *, peek: str | None = None) -> bytes | None:
        """Take the lock (waiting up to `wait`); returns the value of `peek` read just after."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while True:
            pipe = self._store.pipeline(transaction=True)
            self.try_in(pipe, peek=peek)
            value = self.took(await pipe.execute())
            if self.held:
                return value
            if loop.time() >= deadline:
                raise MemberBusy(self.openid)
            await asyncio.sleep(RETRY_S)

    def _surely_ours(self) -> bool:
        if self._acquired_at is None:
            return False
        return asyncio.get_running_loop().time() - self._acquired_at < self._ttl - SAFETY_S

    def release_in(self, pipe: Any) -> bool:
        """Add the release to `pipe` if a plain DEL is safe; False means call `release()`."""
        if not self._surely_ours():
            return False
        pipe.delete(self.key)
        self._acquired_at = None
        return True

    async def release(self) -> None:
        if self._acquired_at is None:
            return
        if self._surely_ours():
            await self._store.delete(self.key)
            self._acquired_at = None
            return
        self._acquired_at = None
        # Held close to (or past) its expiry: delete only if the token is still ours.
        async with self._store.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.key)
                if await pipe.get(self.key) == self._token:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(self.key)
                    await pipe.execute()
                    return
            except WatchError:
                pass  # someone else's lock changed under us: not ours to delete
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
