"""The sending queue: outbox ids handed to the queue workers over taskiq-redis.

A producer (web process, scheduler) only needs the broker and the task's name: `Feeder` kicks
one task per 500 ids (one task per message ran at ~1k/s; chunks do not). The workers
(`scheduler.worker`) register the task's body on the same broker and run it. Delivery is at
least once: a chunk delivered twice finds its rows claimed (`club.messaging.delivery`).

The broker is taskiq-redis's stream broker, healed (`HealingStreamBroker`):
- a lost stream or consumer group (Redis restarted without persistence, a failover, FLUSHALL,
  eviction), Redis unreachable or frozen: the worker backs off (1, 2, 4 ... 30 s, one log line a
  back-off), recreates the group (reading the stream from its start: what producers added
  before it was recreated is not skipped) and calls `on_recovered`, which the worker sets to
  queue again every row the database still owes (`scheduler.worker.requeue_owed`);
- a task taken by a worker that died is taken over by another after `VISIBILITY_S` (XAUTOCLAIM,
  looked for every few seconds, busy or idle); a worker still running a task keeps it its own
  (XCLAIM of itself every third of that), so a long chunk is not run twice.

Without REDIS_URL (the embedded default) there is no queue: `InProcessFeed` delivers due rows
in the background of the one process, as soon as they are handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

from redis.asyncio import Redis as RedisClient
from redis.exceptions import RedisError, ResponseError
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

from bot import keys
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.messaging.delivery import Delivery
from config.settings import QUEUE_VISIBILITY_SECONDS

log = logging.getLogger(__name__)

CHUNK = 500
TASK_NAME = "clubbot.deliver_chunk"
CAMPAIGN_TASK_NAME = "clubbot.campaign_chunk"
MASS_TASK_NAME = "clubbot.campaign_mass"


VISIBILITY_S = QUEUE_VISIBILITY_SECONDS
"""A task unacknowledged and untouched for this long lost its worker: another takes it over
(QUEUE_VISIBILITY_SECONDS: the workers take the setting's value)."""
CLAIM_EVERY_S = 5.0
"""How often a worker looks for such tasks (between reads, whether or not any came), at most:
every quarter of a shorter visibility timeout."""
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
READ_BLOCK_MS = 2000
STREAM_MAXLEN = 100_000
"""The stream keeps about this many tasks (acknowledged ones are not removed by XACK): without a
cap it grew by every task ever sent. A backlog larger than this (100,000 tasks: up to 50 million
messages) would lose its oldest tasks; their rows stay owed in the database and the sweep feeds
them again after ten minutes (`scheduler.worker.dispatch_due`)."""
SOCKET_TIMEOUT_S = 10.0
"""A Redis that does not answer for this long (frozen, a network partition) is an error, not a
wait without end: longer than the read's block, shorter than a member's patience."""


def build_broker(
    redis_url: str, *, visibility_s: float = VISIBILITY_S, **options: Any
) -> HealingStreamBroker:
    """The queue's broker (no task bodies: workers add theirs), on the stream of this process's
    key prefix (`keys.queue()`): workers of another prefix never take its tasks."""
    return HealingStreamBroker(
        redis_url,
        queue_name=keys.queue(),
        visibility_s=visibility_s,
        claim_every_s=min(CLAIM_EVERY_S, visibility_s / 4),
        **options,
    )


class HealingStreamBroker(RedisStreamBroker):  # type: ignore[misc]
    """taskiq-redis's stream broker, reading so that it survives Redis losing its stream.

    The library's `listen` raises on the first error (taskiq's receiver then restarts it at once
    and logs a traceback each time: ~40,000 lines a second on a lost group) and takes over
    another worker's tasks only after a read that brought new ones. This one backs off and
    recreates the group, looks for abandoned tasks on every round, and keeps its own running
    tasks fresh (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        *,
        queue_name: str,
        visibility_s: float = VISIBILITY_S,
        claim_every_s: float = CLAIM_EVERY_S,
        backoff_first_s: float = BACKOFF_FIRST_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        socket_timeout_s: float = SOCKET_TIMEOUT_S,
        **options: Any,
    ) -> None:
        super().__init__(
            url,
            queue_name=queue_name,
            # A group recreated on a stream producers already added to reads those tasks too.
            consumer_id="0",
            xread_block=READ_BLOCK_MS,
            maxlen=STREAM_MAXLEN,
            idle_timeout=int(visibility_s * 1000),
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=min(5.0, socket_timeout_s),
            # Who holds a task, in XPENDING and XINFO: the host and process id.
            consumer_name=options.pop(
                "consumer_name", f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            ),
            **options,
        )
        self.visibility_s = visibility_s
        self.claim_every_s = claim_every_s
        self.backoff_first_s = backoff_first_s
        self.backoff_max_s = backoff_max_s
        self.on_recovered: Callable[[], Awaitable[Any]] | None = None
        """Run once the queue works again after an error (a worker: queue what is owed)."""
        self._beats: set[asyncio.Task[None]] = set()

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        delay = 0.0
        failing = False
        while True:
            try:
                async with RedisClient(connection_pool=self.connection_pool) as conn:
                    if failing:
                        await self._create_group(conn)
                        log.warning("queue %s works again; queueing what is owed", self.queue_name)
                        failing, delay = False, 0.0
                        await self.recover()
                    async for message in self._rounds(conn):
                        yield message
            except RedisError as exc:
                failing = True
                delay = min(self.backoff_max_s, delay * 2 if delay else self.backoff_first_s)
                log.warning(
                    "queue %s: %s: %s; recreating its group, next try in %.0f s",
                    self.queue_name,
                    _lost(exc),
                    _first_line(exc),
                    delay,
                )
                await asyncio.sleep(delay)

    async def _rounds(self, conn: RedisClient) -> AsyncGenerator[AckableMessage, None]:
        """Read new tasks; every `claim_every_s`, take over those left by a stopped worker."""
        claimed_at = 0.0
        while True:
            fetched: Any = await conn.xreadgroup(
                self.consumer_group_name,
                self.consumer_name,
                {self.queue_name: ">"},
                block=self.block,
                count=self.count,
            )
            for _stream, entries in fetched or []:
                for entry_id, fields in entries:
                    yield self._message(entry_id, fields)
            if time.monotonic() - claimed_at < self.claim_every_s:
                continue
            claimed_at = time.monotonic()
            answer = await conn.xautoclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                count=self.unacknowledged_batch_size,
            )
            for entry_id, fields in answer[1]:
                if not fields:  # deleted from the stream meanwhile (Redis 6.2 lists them)
                    continue
                log.info(
                    "queue %s: took over task %s from a stopped worker",
                    self.queue_name,
                    _text(entry_id),
                )
                yield self._message(entry_id, fields)

    def _message(self, entry_id: Any, fields: Any) -> AckableMessage:
        beat = asyncio.create_task(self._keep(entry_id), name="clubbot-queue-keep")
        self._beats.add(beat)
        beat.add_done_callback(self._beats.discard)

        async def ack() -> None:
            beat.cancel()
            async with RedisClient(connection_pool=self.connection_pool) as conn:
                await conn.xack(self.queue_name, self.consumer_group_name, entry_id)

        return AckableMessage(data=fields[b"data"], ack=ack)

    async def _keep(self, entry_id: Any) -> None:
        """While the task runs, claim it again for this worker (resetting its idle time) every
        third of the visibility timeout: only a stopped worker's tasks are taken over."""
        while True:
            await asyncio.sleep(self.visibility_s / 3)
            try:
                async with RedisClient(connection_pool=self.connection_pool) as conn:
                    await conn.xclaim(
                        self.queue_name,
                        self.consumer_group_name,
                        self.consumer_name,
                        min_idle_time=0,
                        message_ids=[entry_id],
                        justid=True,
                    )
            except RedisError:
                pass  # the reading loop reports Redis's state; its task is owed in the database

    async def _create_group(self, conn: RedisClient) -> None:
        try:
            await conn.xgroup_create(
                self.queue_name, self.consumer_group_name, id=self.consumer_id, mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def recover(self) -> None:
        """Run `on_recovered` (a failure is logged: the scheduler's sweep finds the rows)."""
        if self.on_recovered is None:
            return
        try:
            await self.on_recovered()
        except Exception as exc:  # the database may be down too: the sweep finds the rows
            log.warning("queue %s: could not queue what is owed: %s", self.queue_name, exc)

    async def shutdown(self) -> None:
        for beat in list(self._beats):
            beat.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._beats, return_exceptions=True)
        await super().shutdown()


def _lost(exc: RedisError) -> str:
    if isinstance(exc, ResponseError) and ("NOGROUP" in str(exc) or "UNBLOCKED" in str(exc)):
        return "stream or consumer group lost"
    return f"Redis unavailable ({type(exc).__name__})"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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
