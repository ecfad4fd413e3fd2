"""The sending queue: outbox ids handed to the queue workers over taskiq-redis.

A producer (web process, scheduler) only needs the broker and the task's name: `Feeder` kicks
one task per 500 ids (one task per message ran at ~1k/s; chunks do not). The workers
(`scheduler.worker`) register the task's body on the same broker and run it. Delivery is at
least once: a chunk delivered twice finds its rows claimed (`club.messaging.delivery`).

Without REDIS_URL (the embedded default) there is no queue: `InProcessFeed` delivers due rows
in the background of the one process, as soon as they are handed over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from bot import keys
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.messaging.delivery import Delivery

log = logging.getLogger(__name__)

CHUNK = 500
TASK_NAME = "clubbot.deliver_chunk"
CAMPAIGN_TASK_NAME = "clubbot.campaign_chunk"
MASS_TASK_NAME = "clubbot.campaign_mass"


def build_broker(redis_url: str) -> Any:
    """The taskiq-redis stream broker (no task bodies: workers add theirs), on the stream of
    this process's key prefix (`keys.queue()`): workers of another prefix never take its tasks."""
    from taskiq_redis import RedisStreamBroker

    return RedisStreamBroker(redis_url, queue_name=keys.queue())


class Feeder:
    """Hands outbox ids to the queue workers, 500 a task."""

    def __init__(self, broker: Any) -> None:
        from taskiq.kicker import AsyncKicker

        self._kicker: Any = AsyncKicker(TASK_NAME, broker, {})

    async def __call__(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), CHUNK):
            await self._kicker.kiq(list(ids[start : start + CHUNK]))


class CampaignFeeder:
    """Hands a campaign run's chunks to the queue workers, one task a chunk, and its mass send
    as a task of its own."""

    def __init__(self, broker: Any) -> None:
        from taskiq.kicker import AsyncKicker

        self._chunk: Any = AsyncKicker(CAMPAIGN_TASK_NAME, broker, {})
        self._mass: Any = AsyncKicker(MASS_TASK_NAME, broker, {})

    async def chunks(self, run_id: int, numbers: Sequence[int]) -> None:
        for number in numbers:
            await self._chunk.kiq(run_id, number)

    async def mass(self, run_id: int) -> None:
        await self._mass.kiq(run_id)


class InProcessFeed:
    """Embedded mode: due rows are delivered by a background task of this process at once."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, ids: Sequence[int]) -> None:
        task = asyncio.create_task(self._deliver(list(ids)), name="clubbot-send")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, ids: list[int]) -> None:
        try:
            counts = await self._delivery.deliver_ids(ids)
        except Exception:
            log.exception("in-process sending failed; the sender's sweep tries again")
            return
        log.info("sent in-process: %s", dict(counts))

    async def drain(self, within: float = 10.0) -> None:
        """Let sends in flight finish before the database closes."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)


class InProcessCampaignFeed:
    """Embedded mode: a campaign's chunks are sent by background tasks of this process, one
    chunk after another (SQLite serves one writer)."""

    def __init__(self) -> None:
        self.context: CampaignContext | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def chunks(self, run_id: int, numbers: Sequence[int]) -> None:
        self._start(self._run(run_id, list(numbers)))

    async def mass(self, run_id: int) -> None:
        self._start(self._mass(run_id))

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="clubbot-campaign")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, run_id: int, numbers: list[int]) -> None:
        context = self.context
        if context is None:
            return
        async with self._lock:
            for number in numbers:
                try:
                    counts = await run_chunk(context, run_id, number)
                except Exception:
                    log.exception("campaign chunk failed; the scheduler hands it on again")
                    return
                log.info("campaign run %s chunk %s: %s", run_id, number, dict(counts))

    async def _mass(self, run_id: int) -> None:
        context = self.context
        if context is None:
            return
        async with self._lock:
            try:
                counts = await advance_mass(context, run_id)
            except Exception:
                log.exception("campaign mass send failed; the scheduler hands it on again")
                return
            log.info("campaign run %s mass send: %s", run_id, dict(counts))

    async def drain(self, within: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)
