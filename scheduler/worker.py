"""The queue workers' task, and the sweep that feeds rows which became due later.

- `python -m scheduler worker` processes run `deliver_chunk` (registered on the taskiq broker
  of `bot.queue`): each row through `club.messaging.delivery.Delivery`, which claims it (so a
  task delivered twice sends nothing twice), checks quiet hours and the window again at the time
  of sending, falls back to the row's template when the window has closed, and records the
  outcome. The outcomes are added to the deployment's counters (`/metrics`).
- Rows are handed to the workers when they are recorded (`club.messaging.outbox`). Rows that
  become due later (quiet hours, back-off, a used-up quota after midnight) are fed by
  `dispatch_due`, run every half-minute by one scheduler (a Redis lock), from a watermark kept
  in Redis; queued rows that have waited ten minutes are fed again (a lost task); a duplicate
  task only finds them claimed. A campaign's rows are never swept (`delivery.swept`): they go
  with its chunks, so a paused campaign's written rows wait for its resume.
- Rows whose sender died mid-send are settled first (`settle_abandoned`); template rows it
  puts back to the queue are fed at once.
- A task that meets the database out of reach waits for it and runs again (`through_outage`).
- `requeue_owed`: when a worker starts, and when its queue works again after Redis lost the
  stream or was unreachable (`bot.queue.HealingStreamBroker.on_recovered`), every row still
  owed and due is fed again at once (tasks in the lost stream are gone; a row fed twice is
  claimed once).
- `campaign_chunk` sends one chunk of a campaign run (`club.campaigns.fanout`), and
  `campaign_mass` its mass send (`club.campaigns.mass`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import Q

from bot import keys
from bot.deps import Deps
from bot.kv import Redis
from bot.metrics import count_deliveries
from bot.queue import CAMPAIGN_TASK_NAME, MASS_TASK_NAME, TASK_NAME
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.db.availability import database_answers
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging.delivery import CHUNK, claimable, settle_abandoned, swept
from club.messaging.outbox import Feed
from club.messaging.outcomes import Outcome

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
OUTAGE_WAITS_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
T = TypeVar("T")
REQUEUE_LOCK_TTL_S = 10
"""Workers recovering together feed what is owed once (the lock lapses: a later loss is new)."""


def register_task(broker: Any, state: dict[str, Deps]) -> None:
    """Add the sending task's body to `broker`; `state["deps"]` is filled once resources are
    open (the broker is built before them)."""

    @broker.task(task_name=TASK_NAME)  # type: ignore[untyped-decorator]
    async def deliver_chunk(ids: list[int]) -> dict[str, int]:
        deps = state["deps"]
        counts = await through_outage(lambda: deps.delivery.deliver_ids(ids))
        await count_deliveries(deps.store, counts)
        log.info("delivered chunk of %s: %s", len(ids), dict(counts))
        return dict(counts)

    @broker.task(task_name=CAMPAIGN_TASK_NAME)  # type: ignore[untyped-decorator]
    async def campaign_chunk(run_id: int, number: int) -> dict[str, int]:
        deps = state["deps"]
        counts = await through_outage(lambda: run_chunk(deps.campaigns, run_id, number))
        await count_deliveries(deps.store, counts)
        log.info("campaign run %s chunk %s: %s", run_id, number, dict(counts))
        return dict(counts)

    @broker.task(task_name=MASS_TASK_NAME)  # type: ignore[untyped-decorator]
    async def campaign_mass(run_id: int) -> dict[str, int]:
        counts = await advance_mass(state["deps"].campaigns, run_id)
        log.info("campaign run %s mass send: %s", run_id, dict(counts))
        return dict(counts)


async def through_outage(work: Callable[[], Awaitable[T]]) -> T:
    """Run a task's `work`; when it fails with the database out of reach (a restart, an
    outage), wait for it (1, 2, 4 ... 30 s, about a minute in all) and run it again: the rows'
    claims make a repeat send nothing twice. Given up, or any other failure, it is raised (the
    task ends; the sweep finds its rows). Without this a task meeting a database restart ended
    at once, and its rows waited ten minutes for the sweep."""
    for wait in (*OUTAGE_WAITS_S, None):
        try:
            return await work()
        except Exception as exc:
            if wait is None or await database_answers():
                raise
            log.warning(
                "database out of reach (%s); the task runs again in %.0f s",
                type(exc).__name__,
                wait,
            )
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def dispatch_due(store: Redis, feed: Feed, now: datetime) -> int:
    """Feed rows that became due since the last call, and long-waiting ones; one process."""
    lock = keys.outbox_dispatch_lock()
    if not await store.set(lock, b"1", nx=True, ex=keys.OUTBOX_DISPATCH_LOCK_TTL_S):
        return 0
    try:
        await settle_abandoned(now)
        mark = await store.get(keys.outbox_watermark())
        since = (
            datetime.fromisoformat(_text(mark)) if mark else now - timedelta(days=1)
        ).astimezone(now.tzinfo)
        fed = 0
        stale = now - STALE_AFTER
        for query in (
            # Became due since the last call: after quiet hours, a back-off, or (failed rows)
            # the day after a used-up daily quota.
            Q(not_before__gt=since, not_before__lte=now) & claimable() & swept(),
            # Put back to the queue since the last call (a template row whose sender died) and
            # due: sent again now, inside WeChat's de-duplication window.
            Q(
                Q(not_before__isnull=True) | Q(not_before__lte=now),
                swept(),
                updated_at__gt=since,
                status=OutboxStatus.QUEUED,
                outcome=Outcome.RETRY.value,
            ),
            # Due for ten minutes and untouched since: its task was lost (or is very late).
            Q(
                Q(not_before__isnull=True) | Q(not_before__lte=stale),
                swept(),
                updated_at__lte=stale,
                status=OutboxStatus.QUEUED,
            ),
        ):
            fed += await _feed_all(feed, query)
        await store.set(
            keys.outbox_watermark(), now.isoformat().encode(), ex=keys.OUTBOX_WATERMARK_TTL_S
        )
        return fed
    finally:
        await store.delete(lock)


async def requeue_owed(store: Redis, feed: Feed, now: datetime) -> int:
    """Feed every row owed and due now (claimable, not held for later, not a campaign's); one
    worker at a time.
    Run when a worker starts and when its queue works again after Redis lost its tasks."""
    if not await store.set(keys.outbox_requeue_lock(), b"1", nx=True, ex=REQUEUE_LOCK_TTL_S):
        return 0
    await settle_abandoned(now)
    owed = Q(Q(not_before__isnull=True) | Q(not_before__lte=now)) & claimable() & swept()
    fed = await _feed_all(feed, owed)
    if fed:
        log.info("queued again %s outbox row(s) still owed", fed)
    return fed


async def _feed_all(feed: Feed, query: Q) -> int:
    """Feed the ids of the rows `query` finds, in id order, a chunk at a time."""
    fed = 0
    last = 0
    while True:
        ids: list[Any] = (
            await OutboxMessage.filter(query, id__gt=last)
            .order_by("id")
            .limit(CHUNK)
            .values_list("id", flat=True)
        )
        if not ids:
            return fed
        await feed([int(i) for i in ids])
        fed += len(ids)
        last = int(ids[-1])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
