"""Delivering many rows at once: a campaign batch's messages, a few sends in flight.

The same rules as `Delivery.deliver`, row by row, with the database work shared: the rows are
claimed by one conditional UPDATE ... RETURNING (queued, or waiting for a daily quota, and due;
the first attempt stamped in the same statement), read back in one query, sent concurrently
(each in its slot of the campaign's shared rate, the batch's slots reserved in one call), and
those sent are recorded by one statement.
After a 45009 (the day's template quota is spent) the batch's other template rows are not sent:
they wait for the quota like the one refused. The caller may say whether to go on (`go_on`,
asked before each send): once it says no, the rows not sent yet go back to the queue as they
were before the claim, and the sends waiting for their slot stop waiting.
Anything else a send comes to (a refusal by the rules, a failure) is recorded at once by the
single-row path's own code (`Delivery.send_claimed`), and a customer-service row the window
refused goes again as its template (`Delivery.fallback`). Measured on this VM: a message took
four round trips to the database alone; a batch of 50 takes about three.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from club.db.models.outbox import OutboxChannel, OutboxMessage
from club.db.raw import Params, dialect, execute, rows
from club.messaging.delivery import Delivered, Delivery, DeliveryStatus
from club.messaging.outcomes import Outcome
from club.messaging.sending import Receipt

_SENT_PG = """
UPDATE outbox_message o
SET status = 'sent', outcome = v.outcome, dry_run = v.dry, wechat_msgid = v.msgid,
    sent_at = $1, updated_at = $1, last_error = NULL
FROM unnest($2::bigint[], $3::varchar[], $4::bool[], $5::varchar[]) AS v(id, msgid, dry, outcome)
WHERE o.id = v.id AND o.status = 'sending'
"""
_SENT_ONE = (
    "UPDATE outbox_message SET status = 'sent', outcome = $1, dry_run = $2, wechat_msgid = $3, "
    "sent_at = $4, updated_at = $4, last_error = NULL WHERE id = $5 AND status = 'sending'"
)

_PUT_BACK = """
UPDATE outbox_message SET status = 'queued', attempts = attempts - 1, updated_at = {at},
       first_attempt_at = CASE WHEN attempts = 1 THEN NULL ELSE first_attempt_at END
WHERE {wanted} AND status = 'sending'
"""

Pace = Callable[[int], Awaitable[list[float]]]
"""Reserves the slots of n messages at the shared rate: seconds from now until each may go."""
GoOn = Callable[[], Awaitable[bool]]
"""Asked before each send: False stops the batch (the rest go back to the queue)."""


async def claim(delivery: Delivery, ids: Sequence[int], now: datetime) -> list[OutboxMessage]:
    """Claim the rows nobody else has and that are due; the claimed rows."""
    if not ids:
        return []
    p = Params(dialect())
    at, most = p.add(now), p.add(delivery.max_attempts)
    wanted = p.one_of("id", [int(i) for i in ids], "bigint")
    sql = f"""
UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, updated_at = {at},
       first_attempt_at = COALESCE(first_attempt_at, {at})
WHERE {wanted} AND attempts < {most} AND (not_before IS NULL OR not_before <= {at})
  AND (status = 'queued' OR (status = 'failed' AND outcome = 'quota'))
RETURNING id
"""  # noqa: S608 (constant fragments, values bound)
    claimed = [int(r["id"]) for r in await rows(sql, p.values)]
    if not claimed:
        return []
    return await OutboxMessage.filter(id__in=claimed).order_by("id")


async def deliver_many(
    delivery: Delivery,
    ids: Sequence[int],
    counts: Counter[str],
    *,
    pace: Pace | None = None,
    concurrency: int = 8,
    go_on: GoOn | None = None,
) -> list[Delivered]:
    """Deliver the rows (those another sender has, or that are not due, are left); what each
    claimed row came to (a template copy's outcome where the window sent one instead; a row
    `go_on` stopped before its send: NOT_SENT, queued again)."""
    now = delivery.clock.now()
    claimed = await claim(delivery, ids, now)
    gate = asyncio.Semaphore(concurrency)
    sent: list[tuple[OutboxMessage, Receipt]] = []
    results: list[Delivered] = []
    quota = {"spent": False}
    stop = asyncio.Event()
    not_sent: list[int] = []
    clock = asyncio.get_running_loop().time
    start = clock()
    slots = await pace(len(claimed)) if pace is not None else [0.0] * len(claimed)

    async def one(row: OutboxMessage, slot: float) -> None:
        wait = start + slot - clock()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)  # woken early when the batch stops
        async with gate:
            if stop.is_set() or (go_on is not None and not await go_on()):
                stop.set()
                not_sent.append(row.id)
                return
            if quota["spent"] and row.channel is OutboxChannel.TEMPLATE:
                # WeChat said 45009 to this batch already: the others are not sent to hear it
                # again (never hammer a spent quota).
                counts["quota"] += 1
                results.append(Delivered(await delivery.hold_for_quota(row, now), row.id))
                return
            outcome = await delivery.send_claimed(row, now)
            if outcome is DeliveryStatus.QUOTA:
                quota["spent"] = True
            if isinstance(outcome, Receipt):
                sent.append((row, outcome))
                return
            counts[outcome.value] += 1
            if outcome is DeliveryStatus.OUTSIDE_WINDOW:
                results.append(await delivery.fallback(row.id, counts))
            else:
                results.append(Delivered(outcome, row.id))

    await asyncio.gather(*(one(row, slot) for row, slot in zip(claimed, slots, strict=True)))
    await _record_sent(sent, now)
    await _put_back(not_sent, delivery.clock.now())
    results += [Delivered(DeliveryStatus.NOT_SENT, i) for i in not_sent]
    for _, receipt in sent:
        counts[(DeliveryStatus.DRY_RUN if receipt.dry_run else DeliveryStatus.SENT).value] += 1
    results += [
        Delivered(DeliveryStatus.DRY_RUN if r.dry_run else DeliveryStatus.SENT, row.id)
        for row, r in sent
    ]
    return results


async def _put_back(ids: list[int], now: datetime) -> None:
    """Claimed rows not sent after all: queued again, their attempt and (a first attempt) its
    stamp undone, so nothing about them says they were tried."""
    if not ids:
        return
    p = Params(dialect())
    at = p.add(now)
    await execute(_PUT_BACK.format(at=at, wanted=p.one_of("id", ids, "bigint")), p.values)


async def _record_sent(sent: list[tuple[OutboxMessage, Receipt]], now: datetime) -> None:
    if not sent:
        return
    outcome = [(Outcome.DRY_RUN if r.dry_run else Outcome.SENT).value for _, r in sent]
    if dialect() == "postgres":
        await execute(
            _SENT_PG,
            [
                now,
                [row.id for row, _ in sent],
                [r.msgid for _, r in sent],
                [r.dry_run for _, r in sent],
                outcome,
            ],
        )
        return
    for (row, receipt), result in zip(sent, outcome, strict=True):
        await execute(_SENT_ONE, [result, receipt.dry_run, receipt.msgid, now, row.id])
