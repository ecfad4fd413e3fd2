"""Delivering many rows at once: a campaign batch's messages, a few sends in flight.

The same rules as `Delivery.deliver`, row by row, with the database work shared: the batch's
slots of the campaign's shared rate are reserved in one call, and its rows are claimed in
groups, each group by one conditional UPDATE ... RETURNING (queued, or waiting for a daily
quota, and due; the first attempt stamped in the same statement) read back in one query, sent
concurrently in their slots, and those sent recorded by one statement.

A row is claimed (`sending`) only a moment before its slot (`CLAIM_AHEAD`): a group is the rows
whose slots fall within that much of its first one. A row left `sending` past the lease
(`delivery.SENDING_LEASE`, a minute) is a dead sender's, settled by the sweep as outcome unknown;
workers share a campaign's pace, so at a slow pace a live worker's batch takes minutes (two
workers at one message a second: the second batch's last slot is 99 s out), and claiming the
whole batch at once left its later rows `sending` past the lease: settled as unknown, then sent
anyway. The rows of a group still waiting (for a send slot, when WeChat is slow) have their
claim renewed once it is `RENEW_AFTER` old; a row whose claim was settled meanwhile is not sent.
The groups go one after another (a group is claimed at its first slot or once the group before
is recorded, whichever is later), so a worker behind its pace holds one group, as one on time
does. A worker that dies leaves queued the rows whose group it had not claimed: another sends
them. At a fast pace (25 a second and up) a batch of 50 is one group, as before.

After a 45009 (the day's template quota is spent) the batch's other template rows are not sent:
they are recorded as if WeChat had refused each of them so (waiting for the quota, or, after an
unanswered attempt, outcome unknown: `club.messaging.outcomes`). The caller may say whether to
go on (`go_on`, asked before each send): once it says no, the claimed rows not sent yet go back
to the queue as they were before the claim, the groups not claimed yet are left queued, and the
sends waiting for their slot stop waiting. It may also be told when each group's outcomes are
recorded (`recorded`: a campaign then credits the bonus of the members its messages reached).
Anything else a send comes to (a refusal by the rules, a failure) is recorded at once by the
single-row path's own code (`Delivery.send_claimed`), and a customer-service row the window
refused goes again as its template (`Delivery.fallback`). Measured on this VM: a message took
four round trips to the database alone; a group of up to 50 takes about three.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from club.db.models.outbox import OutboxChannel, OutboxMessage
from club.db.raw import Params, dialect, execute, rows
from club.messaging.delivery import Delivered, Delivery, DeliveryStatus
from club.messaging.outcomes import Outcome
from club.messaging.sending import Receipt

CLAIM_AHEAD = 2.0
"""Seconds: a row is claimed at most this long before its slot (with the rows whose slots come
within that time). Far below the minute's lease, and above a fast pace's whole batch."""
CLAIM_LEAD = 0.2
"""Seconds: a batch's first group is claimed this long before its first slot, so that the
claim's round trips do not make its sends late (claimed at the slot, each batch ended a few
milliseconds late and the next one's slots began later: 2 workers paced at 300 a second sent
0.967-0.969 of the pace; measured by bench/campaign.py)."""
RENEW_AFTER = timedelta(seconds=10)
"""A claim this old is renewed before the next send of its group starts: a send takes at most
about 45 s, so no claim of a live sender reaches the minute's lease."""

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
Recorded = Callable[[], Awaitable[None]]
"""Called once a group's outcomes are recorded (what was sent, refused, put back)."""


def _claimable(p: Params, delivery: Delivery, ids: Sequence[int], at: str) -> str:
    """The rows of `ids` a sender may claim at `at` (a placeholder): queued (or waiting for a
    daily quota), due, and not out of attempts."""
    most = p.add(delivery.max_attempts)
    wanted = p.one_of("id", [int(i) for i in ids], "bigint")
    return (
        f"{wanted} AND attempts < {most} AND (not_before IS NULL OR not_before <= {at}) "
        "AND (status = 'queued' OR (status = 'failed' AND outcome = 'quota'))"
    )


async def claimable_ids(delivery: Delivery, ids: Sequence[int], now: datetime) -> list[int]:
    """Which of `ids` could be claimed now, in id order (nothing is claimed)."""
    if not ids:
        return []
    p = Params(dialect())
    where = _claimable(p, delivery, ids, p.add(now))
    sql = f"SELECT id FROM outbox_message WHERE {where} ORDER BY id"  # noqa: S608 (bound)
    return [int(r["id"]) for r in await rows(sql, p.values)]


async def claim(delivery: Delivery, ids: Sequence[int], now: datetime) -> list[OutboxMessage]:
    """Claim the rows nobody else has and that are due; the claimed rows."""
    if not ids:
        return []
    p = Params(dialect())
    at = p.add(now)
    sql = f"""
UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, updated_at = {at},
       first_attempt_at = COALESCE(first_attempt_at, {at})
WHERE {_claimable(p, delivery, ids, at)}
RETURNING id
"""  # noqa: S608 (constant fragments, values bound)
    claimed = [int(r["id"]) for r in await rows(sql, p.values)]
    if not claimed:
        return []
    return await OutboxMessage.filter(id__in=claimed).order_by("id")


def groups(ids: Sequence[int], slots: Sequence[float]) -> list[list[tuple[int, float]]]:
    """The rows in slot order, cut where a slot comes more than `CLAIM_AHEAD` after the first
    slot of its group."""
    found: list[list[tuple[int, float]]] = []
    for outbox_id, slot in zip(ids, slots, strict=True):
        if found and slot - found[-1][0][1] <= CLAIM_AHEAD:
            found[-1].append((outbox_id, slot))
        else:
            found.append([(outbox_id, slot)])
    return found


async def deliver_many(
    delivery: Delivery,
    ids: Sequence[int],
    counts: Counter[str],
    *,
    pace: Pace | None = None,
    concurrency: int = 8,
    go_on: GoOn | None = None,
    recorded: Recorded | None = None,
) -> list[Delivered]:
    """Deliver the rows (those another sender has, or that are not due, are left); what each
    row came to (a template copy's outcome where the window sent one instead; a row `go_on`
    stopped before its send: NOT_SENT, queued as it was). `recorded` is called after each group
    that was claimed has its outcomes recorded."""
    wanted = await claimable_ids(delivery, ids, delivery.clock.now())
    slots = await pace(len(wanted)) if pace is not None else [0.0] * len(wanted)
    batch = _Batch(delivery, counts, concurrency, go_on, recorded)
    # The batch's first group is claimed a moment early (nothing of this worker is in hand
    # then); the others at their first slot once the group before is recorded, so that a
    # worker that dies holds one group. Claimed at their slots alone, a worker behind its pace
    # (WeChat slower than the slots) held every group whose slot had passed: those waiting
    # for a send past the lease were settled as unknown and never sent, and a worker that died
    # left them all unknown.
    for n, group in enumerate(groups(wanted, slots)):
        await batch.group(group, 0.0 if n else CLAIM_LEAD)
    return batch.results


class _Batch:
    """What the groups of one batch share: the send slots in flight, the stop, the quota."""

    def __init__(
        self,
        delivery: Delivery,
        counts: Counter[str],
        concurrency: int,
        go_on: GoOn | None,
        recorded: Recorded | None,
    ) -> None:
        self.delivery, self.counts, self.go_on, self.recorded = delivery, counts, go_on, recorded
        self.gate = asyncio.Semaphore(concurrency)
        self.stop = asyncio.Event()
        self.quota_spent = False
        self.results: list[Delivered] = []
        self.loop_time = asyncio.get_running_loop().time
        self.start = self.loop_time()

    async def until(self, slot: float) -> None:
        """Wait for `slot` (seconds after the batch's start), or until the batch stops."""
        wait = self.start + slot - self.loop_time()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)

    async def group(self, members: list[tuple[int, float]], lead: float) -> None:
        """Claim the group's rows `lead` seconds before its first slot, send each in its slot,
        record them."""
        await self.until(members[0][1] - lead)
        if self.stop.is_set():  # never claimed: still queued as they were
            self.results += [Delivered(DeliveryStatus.NOT_SENT, i) for i, _ in members]
            return
        claims = _Claims(self.delivery)
        slot_of = dict(members)
        claimed = await claims.take([i for i, _ in members])
        await asyncio.gather(*(self.one(row, slot_of[row.id], claims) for row in claimed))
        await _record_sent(claims.sent, claims.at)
        await _put_back(claims.not_sent, self.delivery.clock.now())
        self.results += [Delivered(DeliveryStatus.NOT_SENT, i) for i in claims.not_sent]
        for row, receipt in claims.sent:
            status = DeliveryStatus.DRY_RUN if receipt.dry_run else DeliveryStatus.SENT
            self.counts[status.value] += 1
            self.results.append(Delivered(status, row.id))
        if claimed and self.recorded is not None:
            await self.recorded()

    async def one(self, row: OutboxMessage, slot: float, claims: _Claims) -> None:
        await self.until(slot)
        async with self.gate:
            if self.stop.is_set() or (self.go_on is not None and not await self.go_on()):
                self.stop.set()
                claims.not_sent.append(row.id)
                return
            if not await claims.still_ours(row.id):
                return  # settled by the sweep while it waited: never sent by this sender
            now = claims.at
            if self.quota_spent and row.channel is OutboxChannel.TEMPLATE:
                # WeChat said 45009 to this batch already: the others are not sent to hear it
                # again (never hammer a spent quota).
                held = await self.delivery.hold_for_quota(row, now)
                self.counts[held.status.value] += 1
                self.results.append(held)
                return
            outcome = await self.delivery.send_claimed(row, now)
            if isinstance(outcome, Receipt):
                claims.sent.append((row, outcome))
                return
            if outcome.quota_spent:
                self.quota_spent = True
            self.counts[outcome.status.value] += 1
            if outcome.status is DeliveryStatus.OUTSIDE_WINDOW:
                self.results.append(await self.delivery.fallback(row.id, self.counts))
            else:
                self.results.append(outcome)


class _Claims:
    """One group's claim: taken at `at`, renewed while its rows wait longer than
    `RENEW_AFTER` (a row whose claim the sweep settled meanwhile is no longer ours)."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.at = delivery.clock.now()
        self.ours: set[int] = set()
        self.sent: list[tuple[OutboxMessage, Receipt]] = []
        self.not_sent: list[int] = []
        self._lock = asyncio.Lock()

    async def take(self, ids: Sequence[int]) -> list[OutboxMessage]:
        self.at = self.delivery.clock.now()
        claimed = await claim(self.delivery, ids, self.at)
        self.ours = {row.id for row in claimed}
        return claimed

    async def still_ours(self, outbox_id: int) -> bool:
        async with self._lock:
            now = self.delivery.clock.now()
            if now - self.at > RENEW_AFTER and self.ours:
                self.ours = await _renew(sorted(self.ours), now)
                self.at = now
        return outbox_id in self.ours


async def _renew(ids: list[int], now: datetime) -> set[int]:
    """Renew the claim of the rows still `sending` (ours: a claim the sweep settled is gone,
    and nobody else claims a row that is `sending`); those renewed."""
    p = Params(dialect())
    at = p.add(now)
    sql = f"""
UPDATE outbox_message SET updated_at = {at}
WHERE {p.one_of("id", ids, "bigint")} AND status = 'sending'
RETURNING id
"""  # noqa: S608 (constant fragments, values bound)
    return {int(r["id"]) for r in await rows(sql, p.values)}


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
