"""The access token, held in the shared store for every worker, refreshed by one at a time.

WeChat recommends one central token holder: workers that each fetch their own tokens knock each
other out. Here the store is that holder. A worker that finds the token missing or within
`refresh_margin_s` of expiry takes a store lock (`SET NX EX`) and fetches; the others wait and
re-read (or, if the old token is still valid, keep using it meanwhile). Inside one process an
asyncio lock queues callers first, so twenty coroutines do not poll the store twenty times over.

The refresh lock is held for one call to WeChat at its time limit (WECHAT_API_TIMEOUT_SECONDS)
and `LOCK_MARGIN_S` more, and the others wait that long and `LOCK_MARGIN_S` more before giving
up: a lock shorter than the call would let a second worker fetch while the first still may get
its answer, and waiters would give up on a fetch still in time (15 s and 20 s at the default 10).

`force_refresh` (which invalidates the current token and is limited by WeChat to a few a day,
30 s apart) is used only after the API called our token invalid, and at most once per
`keys.FORCE_REFRESH_INTERVAL_S` across all workers (a guard key in the store).

The HTTP call itself is injected (`fetch`), so this module is only about caching and coordination.
The token is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot import keys
from bot.kv import Redis, release_if_ours
from bot.wechat.errors import TransportError

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 5 * 60
LOCK_MARGIN_S = 5.0
"""How much longer than one call the refresh lock lasts, and the waiters wait than the lock."""


@dataclass(frozen=True)
class FetchedToken:
    token: str
    expires_in: int
    """Seconds the token stays valid, as WeChat said."""

    def __repr__(self) -> str:  # the token itself must never reach a log line
        return f"FetchedToken(token=***, expires_in={self.expires_in})"


Fetch = Callable[[bool], Awaitable[FetchedToken]]
"""Fetch a token from WeChat; the argument is `force_refresh`."""


@dataclass(frozen=True)
class _Cached:
    token: str
    remaining_ms: int


class TokenUnavailable(TransportError):
    """Another worker held the refresh lock for too long and no valid token appeared (or the
    token store is down): no request was made."""

    written = False


class AccessTokens:
    def __init__(
        self,
        *,
        store: Redis,
        appid: str,
        fetch: Fetch,
        call_limit_s: float,
        refresh_margin_s: float = REFRESH_MARGIN_S,
        poll_s: float = 0.05,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`call_limit_s`: the most one call of `fetch` to WeChat may take."""
        self._store = store
        self._fetch = fetch
        self._key = keys.access_token(appid)
        self._lock_key = keys.access_token_lock(appid)
        self._force_key = keys.force_refresh_guard(appid)
        self._margin_ms = int(refresh_margin_s * 1000)
        self._poll_s = poll_s
        self._lock_ms = int((call_limit_s + LOCK_MARGIN_S) * 1000)
        self._wait_limit_s = call_limit_s + 2 * LOCK_MARGIN_S
        self._sleep = sleep
        self._local = asyncio.Lock()

    async def get(self) -> str:
        """A token with more than the margin left, fetching one if needed (single flight)."""
        try:
            cached = await self._read()
            if cached is not None and cached.remaining_ms > self._margin_ms:
                return cached.token
            return await self._refresh(stale=None)
        except RedisError as exc:
            raise _store_down(exc) from None

    async def refresh_invalid(self, stale: str) -> str:
        """WeChat rejected `stale`: get a different token (forcing a refresh if allowed)."""
        try:
            return await self._refresh(stale=stale)
        except RedisError as exc:
            raise _store_down(exc) from None

    async def _refresh(self, *, stale: str | None) -> str:
        async with self._local:
            waited = 0.0
            while True:
                cached = await self._read()
                if self._usable(cached, stale):
                    assert cached is not None
                    return cached.token
                owner = secrets.token_hex(8)
                if await self._store.set(self._lock_key, owner, nx=True, px=self._lock_ms):
                    return await self._refresh_holding_lock(owner, stale)
                if stale is None and cached is not None and cached.remaining_ms > 0:
                    # Someone else is renewing it; the current one is still good meanwhile.
                    return cached.token
                if waited >= self._wait_limit_s:
                    raise TokenUnavailable(0, "timed out waiting for another worker's token")
                await self._sleep(self._poll_s)
                waited += self._poll_s

    async def _refresh_holding_lock(self, owner: str, stale: str | None) -> str:
        keep_lock = False
        try:
            cached = await self._read()  # it may have been renewed just before we got the lock
            if self._usable(cached, stale):
                assert cached is not None
                return cached.token
            force = stale is not None and await self._may_force()
            fresh = await self._fetch(force)
            await self._store.set(self._key, fresh.token, ex=max(1, fresh.expires_in))
            log.info(
                "access token renewed (force_refresh=%s, expires_in=%ss)", force, fresh.expires_in
            )
            # A token that is already inside the margin would send every caller back here;
            # holding the lock until it expires makes that at most one fetch per lock period.
            keep_lock = fresh.expires_in * 1000 <= self._margin_ms
            return fresh.token
        finally:
            if not keep_lock:
                await release_if_ours(self._store, self._lock_key, owner)

    async def _may_force(self) -> bool:
        """True for the first caller in each interval, across workers."""
        return bool(
            await self._store.set(self._force_key, "1", nx=True, ex=keys.FORCE_REFRESH_INTERVAL_S)
        )

    def _usable(self, cached: _Cached | None, stale: str | None) -> bool:
        if cached is None:
            return False
        if stale is not None:
            return cached.token != stale and cached.remaining_ms > 0
        return cached.remaining_ms > self._margin_ms

    async def _read(self) -> _Cached | None:
        async with self._store.pipeline(transaction=False) as pipe:
            pipe.get(self._key)
            pipe.pttl(self._key)
            raw, ttl = await pipe.execute()
        if raw is None or ttl is None or ttl <= 0:
            return None
        token = raw.decode() if isinstance(raw, bytes) else str(raw)
        return _Cached(token=token, remaining_ms=int(ttl))


def _store_down(exc: RedisError) -> TokenUnavailable:
    # Nothing was sent yet, so the caller may safely try again later.
    log.warning("access token store unavailable: %s", type(exc).__name__)
    return TokenUnavailable(0, f"token store unavailable ({type(exc).__name__})")
