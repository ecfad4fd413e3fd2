"""A message's turn in the store, in one round trip at each end.

`enter`: claim the message for de-duplication; if it is ours, take the member's lock; if that is
free, read the member's dialog state. `leave`: cache the reply for retries and release the lock
(compare-and-delete). `give_back`: forget the claim and release the lock, when the message could
not be handled (a shared part was down) and WeChat is to retry it. Each is one script: one
command instead of three. Scripts called by concurrent callbacks in the same loop turn go out
together: on the real Redis through the callback's own connection (`bot.redis_lane`), on the
in-process stand-in as one redis-py pipeline (`bot.pipelined`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import keys
from bot.dedup import DONE, RUNNING
from bot.pipelined import PipelinedScripts
from bot.redis_lane import ScriptLane
from bot.scripts import ScriptRunner

if TYPE_CHECKING:
    from bot.kv import Redis
    from bot.locks import MemberLock

ENTER = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return {0, 0, false}
end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
  return {1, 0, false}
end
if ARGV[5] == '1' then
  return {1, 1, redis.call('GET', KEYS[3])}
end
return {1, 1, false}
"""

LEAVE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then
  return redis.call('DEL', KEYS[2])
end
return 0
"""

GIVE_BACK = """
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return redis.call('DEL', KEYS[2])
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    claimed: bool
    """First arrival of this message: ours to handle."""
    state_raw: bytes | None
    """The dialog state, when the lock was taken too (see `MemberLock.held`)."""


class Turns:
    def __init__(self, store: Redis, *, scripts: ScriptRunner | None = None) -> None:
        if scripts is None:
            scripts = ScriptLane.for_store(store) or PipelinedScripts(store)
        self.scripts = scripts
        self._enter = self.scripts.register(ENTER)
        self._leave = self.scripts.register(LEAVE)
        self._give_back = self.scripts.register(GIVE_BACK)

    async def aclose(self) -> None:
        await self.scripts.aclose()

    async def enter(self, message_key: str, lock: MemberLock, state_key: str | None) -> Entry:
        result: list[Any] = await self._enter(
            keys=[keys.dedup(message_key), lock.key, state_key or lock.key],
            args=[
                RUNNING,
                keys.DEDUP_RUNNING_TTL_S,
                lock.token,
                lock.ttl_ms,
                "1" if state_key else "0",
            ],
        )
        claimed, locked, raw = result[0], result[1], result[2]
        if locked:
            lock.adopt()
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        return Entry(claimed=bool(claimed), state_raw=raw or None)

    async def leave(self, message_key: str, body: bytes, lock: MemberLock) -> bool:
        """Cache `body` as the answer to retries and release `lock`; False if it had expired."""
        released = await self._leave(
            keys=[keys.dedup(message_key), lock.key],
            args=[DONE + body, keys.DEDUP_TTL_S, lock.token],
        )
        lock.released_by_caller()
        return bool(released)

    async def give_back(self, message_key: str, lock: MemberLock) -> None:
        """Forget the claim of `message_key` (a retry runs it again) and release `lock`."""
        await self._give_back(keys=[keys.dedup(message_key), lock.key], args=[lock.token])
        lock.released_by_caller()
