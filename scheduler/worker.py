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
  task only finds them claimed.
- Rows whose sender died mid-send are settled first (`settle_abandoned`).
- `campaign_chunk` sends one chunk of a campaign run (`club.campaigns.fanout`), and
  `campaign_mass` its mass send (`club.campaigns.mass`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from bot import keys
from bot.deps import Deps
from bot.kv import Redis
from bot.metrics import count_deliveries
from bot.queue import CAMPAIGN_TASK_NAME, MASS_TASK_NAME, TASK_NAME
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging.delivery import CHUNK, claimable, settle_abandoned
from club.messaging.outbox import Feed

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)


def register_task(broker: Any, state: dict[str, Deps]) -> None:
    """Add the sending task's body to `broker`; `state["deps"]` is filled once resources are
    open (the broker is built before them)."""

    @broker.task(task_name=TASK_NAME)  # type: ignore[untyped-decorator]
    async def deliver_chunk(ids: list[int]) -> dict[str, int]:
        deps = state["deps"]
        counts = await deps.delivery.deliver_ids(ids)
        await count_deliveries(deps.store, counts)
        log.info("delivered chunk of %s: %s", len(ids), dict(counts))
        return dict(counts)

    @broker.task(task_name=CAMPAIGN_TASK_NAME)  # type: ignore[untyped-decorator]
    async def campaign_chunk(run_id: int, number: int) -> dict[str, int]:
        deps = state["deps"]
        counts = await run_chunk(deps.campaigns, run_id, number)
        await count_deliveries(deps.store, counts)
        log.info("campaign run %s chunk %s: %s", run_id, number, dict(counts))
        return dict(counts)

    @broker.task(task_name=MASS_TASK_NAME)  # type: ignore[untyped-decorator]
    async def campaign_mass(run_id: int) -> dict[str, int]:
        counts = await advance_mass(state["deps"].campaigns, run_id)
        log.info("campaign run %s mass send: %s", run_id, dict(counts))
        return dict(counts)


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
            Q(not_before__gt=since, not_before__lte=now) & claimable(),
            # Due for ten minutes and untouched since: its task was lost (or is very late).
            Q(
                Q(not_before__isnull=True) | Q(not_before__lte=stale),
                updated_at__lte=stale,
                status=OutboxStatus.QUEUED,
            ),
        ):
            last = 0
            while True:
                ids: list[Any] = (
                    await OutboxMessage.filter(query, id__gt=last)
                    .order_by("id")
                    .limit(CHUNK)
                    .values_list("id", flat=True)
                )
                if not ids:
                    break
                await feed([int(i) for i in ids])
                fed += len(ids)
                last = int(ids[-1])
        await store.set(
            keys.outbox_watermark(), now.isoformat().encode(), ex=keys.OUTBOX_WATERMARK_TTL_S
        )
        return fed
    finally:
        await store.delete(lock)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
