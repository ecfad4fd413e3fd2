"""Calls made in the same event-loop turn, served together by one batch call.

Under load many callbacks reach the same await at once: each would pay its own round trip (a
send, a receive and the client library's per-command machinery). A `TurnBatcher` queues what is
submitted during one turn of the loop and hands the whole queue to `run` at the start of the next;
a lone call goes out on the next turn, so an idle server adds no wait. (ioredis calls this
auto-pipelining; GraphQL's DataLoader does the same for database reads.)

With `max_in_flight`, no more than that many batches are out at once: what is submitted while
they run waits and goes as the next batch, so batches grow with the load instead of the number
of round trips.

Pure asyncio: used by the callback for its Redis scripts and by the club for the member's row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

BatchRun = Callable[[list[T]], Awaitable[Sequence["R | BaseException"]]]
"""Serves a batch: one result, or the exception for that item, per item and in order."""

DEFAULT_MAX_BATCH = 256


class TurnBatcher(Generic[T, R]):
    def __init__(
        self,
        run: BatchRun[T, R],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_in_flight: int | None = None,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._flush_due = False
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Batches run so far (for tests and benchmarks)."""

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop (tests): nothing carries over
            self._loop, self._queue, self._in_flight, self._flush_due = loop, [], 0, False
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if not self._flush_due and not self._full():
            self._flush_due = True
            loop.call_soon(self._flush)
        return await future

    def _full(self) -> bool:
        return self._max_in_flight is not None and self._in_flight >= self._max_in_flight

    def _flush(self) -> None:
        self._flush_due = False
        while self._queue and not self._full():
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            self._in_flight += 1
            task = asyncio.ensure_future(self._serve(batch))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.get_loop() is not self._loop:  # a batch of an earlier loop (tests)
            return
        self._in_flight -= 1
        if self._queue and not self._flush_due:
            # what queued while the batches were out goes next, as one batch
            self._flush_due = True
            self._loop.call_soon(self._flush)

    async def _serve(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} got {len(results)} results")
        except BaseException as exc:  # every waiter hears of it; nobody waits forever
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away (cancelled)
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
