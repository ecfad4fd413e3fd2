"""Sending outbox rows: the taskiq queue workers, and the in-process sender of embedded mode.

- Jobs hand the ids of rows that are due now to `Feeder.queued`, which kicks one task per 500
  ids onto the taskiq-redis stream (one task per message ran at ~1k/s; chunks do not).
- `python -m scheduler worker` processes run `deliver_chunk`: each row through
  `Outbox.deliver`, which claims it (so a task delivered twice sends nothing twice) and records
  the outcome. Before a customer-service row goes, the window's allowance is checked against
  the outbox (`club.messaging.window.refusal`, at sending time: rows wait for quiet hours). Used up,
  or 45015/45047 (outside the window): the same greeting goes again as a template
  message, under its own key `<key>:template`. 43004/43101: the member is marked unreachable.
  Retryable errors leave the row queued with a back-off `not_before`.
- Rows that become due later (quiet hours, back-off) are fed by `dispatch_due`, run every
  half-minute by one scheduler (a Redis lock), from a watermark kept in Redis; queued rows that
  have waited ten minutes are fed again (a lost task); a duplicate task only finds them claimed.
- Embedded mode has no queue: `send_due` delivers due rows in-process, in a loop.
- Both settle rows whose sender died mid-send (`sending` past its lease) as failed, outcome
  unknown, before anything else (`bot.outbox.settle_abandoned`): they are never sent again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from bot import keys
from bot.kv import Redis
from bot.outbox import DeliveryStatus, Outbox, TemplateMessage, claimable, settle_abandoned
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging.plan import delivery_rules
from club.messaging.window import refusal
from club.programme import Programme

log = logging.getLogger(__name__)

CHUNK = 500
STALE_AFTER = timedelta(minutes=10)
TASK_NAME = "clubbot.deliver_chunk"


async def deliver_ids(
    outbox: Outbox, ids: Sequence[int], programme: Programme, now: datetime
) -> Counter[str]:
    """Deliver each row once; fall back to a template when the window turned out closed.

    Quiet hours are checked again here, at the time of sending: a backlog or a back-off that
    reaches into the evening holds its rows until the quiet hours end instead of sending them.
    """
    counts: Counter[str] = Counter()
    rules = delivery_rules(programme)
    later = rules.quiet.next_allowed(now)
    if later != now:
        held = await OutboxMessage.filter(id__in=list(ids), status=OutboxStatus.QUEUED).update(
            not_before=later
        )
        counts["held_for_quiet_hours"] += held
        return counts

    async def window(row: OutboxMessage, at: datetime) -> str | None:
        return await refusal(row, rules, at)

    for outbox_id in ids:
        status = await outbox.deliver(int(outbox_id), window=window)
        counts[status.value] += 1
        if status is DeliveryStatus.OUTSIDE_WINDOW:
            fallback = await _template_fallback(outbox, int(outbox_id), programme)
            if fallback is not None:
                counts[f"template_{fallback.value}"] += 1
    return counts


async def _template_fallback(
    outbox: Outbox, outbox_id: int, programme: Programme
) -> DeliveryStatus | None:
    row = await OutboxMessage.get(id=outbox_id)
    payload: dict[str, Any] = row.payload
    fallback = payload.get("fallback")
    if isinstance(fallback, dict):
        template_id, data = str(fallback["template_id"]), fallback["data"]
    else:
        configured = programme.delivery.template_for(row.kind)
        if not configured or payload.get("msgtype") != "text":
            log.info("outbox %s: window closed and no template for %r", row.id, row.kind)
            return None
        template_id, data = configured, {"content": str(payload["text"])}
    message = TemplateMessage(template_id=template_id, data={k: str(v) for k, v in data.items()})
    again = await outbox.enqueue(
        openid=row.openid,
        kind=row.kind,
        key=f"{row.idempotency_key}:template"[:128],
        payload=message,
        member_id=row.member_id,
    )
    return await outbox.deliver(again.id)


async def due_ids(now: datetime, *, limit: int = CHUNK, after_id: int = 0) -> list[int]:
    ids: list[Any] = (
        await OutboxMessage.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            status=OutboxStatus.QUEUED,
            id__gt=after_id,
        )
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [int(i) for i in ids]


async def send_due(outbox: Outbox, programme: Programme, now: datetime) -> Counter[str]:
    """Embedded mode's sender: deliver every row due now, in id order, chunk by chunk."""
    counts: Counter[str] = Counter()
    abandoned = await settle_abandoned(now)
    if abandoned:
        counts["outcome_unknown"] += abandoned
    last = 0
    while ids := await due_ids(now, after_id=last):
        counts += await deliver_ids(outbox, ids, programme, now)
        last = ids[-1]
    return counts


class Feeder:
    """Hands outbox ids to the queue workers, 500 a task."""

    def __init__(self, broker: Any) -> None:
        self._task = broker.find_task(TASK_NAME)

    async def queued(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), CHUNK):
            await self._task.kiq(list(ids[start : start + CHUNK]))

    async def dispatch_due(self, store: Redis, now: datetime) -> int:
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
                    await self.queued([int(i) for i in ids])
                    fed += len(ids)
                    last = int(ids[-1])
            await store.set(
                keys.outbox_watermark(), now.isoformat().encode(), ex=keys.OUTBOX_WATERMARK_TTL_S
            )
            return fed
        finally:
            await store.delete(lock)


def build_broker(redis_url: str) -> Any:
    """The taskiq-redis stream broker with the one task; built when a process starts."""
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(redis_url, queue_name="clubbot:outbox")
    state: dict[str, Any] = {}

    @broker.task(task_name=TASK_NAME)
    async def deliver_chunk(ids: list[int]) -> dict[str, int]:
        now = state["clock"].now()
        counts = await deliver_ids(state["outbox"], ids, state["programme"], now)
        log.info("delivered chunk of %s: %s", len(ids), dict(counts))
        return dict(counts)

    broker.clubbot_state = state  # type: ignore[attr-defined]
    return broker


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
