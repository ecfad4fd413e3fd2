"""Which shared part is out of reach, when something failed unexpectedly.

The callback and the staff API answer 503 when the database or the store (Redis) cannot be
reached, instead of an apology (which the callback would cache for WeChat's retries, losing the
member's message) or a 500 "internal". A store failure shows in the exception itself (redis-py's
errors); a database failure is confirmed by asking the database (`club.db.availability`).
"""

from __future__ import annotations

from typing import Literal

from redis.exceptions import RedisError

from club.db.availability import database_answers

Part = Literal["database", "store"]

RETRY_AFTER_S = 5
"""What the staff API's 503 tells clients to wait: a restarting PostgreSQL or Redis is usually
back within seconds, and every staff write is idempotent (order ids, refs), so a retry is safe."""


class Unavailable(Exception):
    """A shared part is out of reach: the request was not handled and may be retried."""

    def __init__(self, part: Part, *, error: str = "") -> None:
        super().__init__(f"the {part} is unavailable")
        self.part: Part = part
        self.error = error
        """The type name of the failure that showed it (for the log line)."""


def _caused_by_store(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RedisError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def part_down(exc: BaseException) -> Part | None:
    """The part whose absence explains `exc`; None when both answer (then `exc` is a bug)."""
    if isinstance(exc, Unavailable):
        return exc.part
    if _caused_by_store(exc):
        return "store"
    if not await database_answers():
        return "database"
    return None
