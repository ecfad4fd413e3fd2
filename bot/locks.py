"""One message at a time per member, across every worker (a redis-py `Lock` in the store).

Double taps and WeChat's retries of different messages must not interleave: a dialog step reads
and writes the member's state, and two of them at once would lose one. The lock expires after
`MEMBER_LOCK_TTL_S` so a crashed worker cannot block a member for long.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from redis.exceptions import LockError

from bot import keys

if TYPE_CHECKING:
    from bot.kv import Redis

log = logging.getLogger(__name__)


class MemberBusy(Exception):
    """The member's previous message is still being handled after the wait allowed."""


@asynccontextmanager
async def member_lock(
    store: Redis, openid: str, *, wait: float = keys.MEMBER_LOCK_WAIT_S
) -> AsyncIterator[None]:
    lock = store.lock(
        keys.member_lock(openid),
        timeout=keys.MEMBER_LOCK_TTL_S,
        blocking_timeout=wait,
        sleep=0.01,
    )
    if not await lock.acquire():
        raise MemberBusy(openid)
    try:
        yield
    finally:
        try:
            await lock.release()
        except LockError:
            # Held longer than its expiry: another message may have run meanwhile. Rare and
            # worth knowing, but the work is done and retrying would not undo it.
            log.warning("member lock expired before release", extra={"openid": openid})
