"""Vouchers not used in time expire: a batch per transaction, each voucher once.

The daily run (`expire-points`) calls `expire_vouchers(now, programme, outbox)`. A batch of due
vouchers goes in one transaction, as points expiry's lots do: the batch's members are locked
first, in id order (as every movement of the ledger locks them, so a batch never deadlocks with
credits, redemptions or the points expiry), then the vouchers still `active` are claimed by one
conditional UPDATE (a voucher used or cancelled meanwhile is left alone, and a second run finds
nothing), their points go back through the ledger (`club.points.refunds`: a REFUND row with the
redemption's ref, once ever), their items to stock, and each member is told through the outbox
(keyed by the voucher). A run killed half-way leaves whole batches; run again, it does the rest.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from club.codes.codegen import format_code
from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.members import Member
from club.db.raw import Params, dialect, rows
from club.db.tx import transaction
from club.messaging import announcements
from club.messaging.keys import outbox_key
from club.messaging.outbox import MEMBER_FIELDS, Outbox
from club.points.ops import Standing, lock_members
from club.points.refunds import Refund, refund_spends
from club.rules import reasons
from club.rules.expiry import expires_at
from club.rules.programme import Programme

log = logging.getLogger(__name__)

EXPIRE_BATCH = 100
"""Vouchers per transaction: one voucher a transaction went at 67 vouchers/s (bench/expiry.py)."""


@dataclass(frozen=True)
class VoucherExpired:
    """Event: the member's voucher expired; `points_returned` went back to their balance (not
    those of lots that expired since the redemption: refunded, they expired at once)."""

    member_id: int
    redemption_id: int
    reward_name: str
    code: str
    expired_at: datetime
    points_returned: int


@dataclass(frozen=True)
class _Claimed:
    redemption_id: int
    member_id: int
    reward_id: int
    points: int
    voucher_code: str


async def expire_vouchers(
    now: datetime, programme: Programme, outbox: Outbox | None = None, *, batch: int = EXPIRE_BATCH
) -> list[VoucherExpired]:
    """Expire every voucher past its time, once each, `batch` a transaction; what happened to
    each. With `refund_on_expiry` the points go back to the lots they came from and the item to
    stock. The member is told through `outbox` in the voucher's own transaction."""
    events: list[VoucherExpired] = []
    last_id = 0
    while True:
        due = (
            await Redemption.filter(
                status=RedemptionStatus.ACTIVE, expires_at__lte=now, id__gt=last_id
            )
            .order_by("id")
            .limit(batch)
            .values_list("id", "member_id")
        )
        if not due:
            break
        last_id = int(due[-1][0])
        events += await _expire_batch([(int(r), int(m)) for r, m in due], now, programme, outbox)
    if events:
        log.info("vouchers expired: %d", len(events))
    return events


async def _expire_batch(
    due: list[tuple[int, int]], now: datetime, programme: Programme, outbox: Outbox | None
) -> list[VoucherExpired]:
    """Expire a batch of (voucher, member) in one transaction. Should it meet a row written
    meanwhile (a unique key), it is done again voucher by voucher, so that the others' work is
    not lost."""
    try:
        async with transaction() as conn:
            return await _expire(conn, due, now, programme, outbox)
    except IntegrityError:
        if len(due) == 1:
            raise
        log.warning("voucher expiry batch met a row written meanwhile; going on one by one")
    events: list[VoucherExpired] = []
    for one in due:
        events += await _expire_batch([one], now, programme, outbox)
    return events


async def _expire(
    conn: BaseDBAsyncClient,
    due: list[tuple[int, int]],
    now: datetime,
    programme: Programme,
    outbox: Outbox | None,
) -> list[VoucherExpired]:
    olds = await lock_members(conn, [member_id for _, member_id in due])
    claimed = await _claim(conn, [redemption_id for redemption_id, _ in due], now)
    if not claimed:
        return []
    rewards = dict(
        await Reward.filter(id__in=list({c.reward_id for c in claimed}))
        .using_db(conn)
        .values_list("id", "name")
    )
    expired_back = await _refund(conn, claimed, rewards, olds, now, programme)
    await _restock(conn, claimed)
    events = [
        VoucherExpired(
            c.member_id,
            c.redemption_id,
            str(rewards[c.reward_id]),
            format_code(c.voucher_code),
            now,
            c.points - expired_back.get(c.redemption_id, c.points),
        )
        for c in claimed
    ]
    if outbox is not None:
        await _tell(outbox, events, now, programme)
    return events


_CLAIM = """
UPDATE redemption SET status = {expired}, expired_at = {now}
WHERE {ids} AND status = {active}
RETURNING id, member_id, reward_id, points, voucher_code
"""


async def _claim(conn: BaseDBAsyncClient, ids: list[int], now: datetime) -> list[_Claimed]:
    """`active` -> `expired`, by one conditional UPDATE: the vouchers this transaction expires,
    by id (not those used, cancelled or expired meanwhile)."""
    params = Params(dialect(conn))
    sql = _CLAIM.format(
        expired=params.add(RedemptionStatus.EXPIRED.value),
        now=params.add(now),
        ids=params.one_of("id", ids, "bigint"),
        active=params.add(RedemptionStatus.ACTIVE.value),
    )
    found = await rows(sql, params.values, conn)
    return sorted(
        (
            _Claimed(int(r["id"]), int(r["member_id"]), int(r["reward_id"]), int(r["points"]),
                     str(r["voucher_code"]))
            for r in found
        ),
        key=lambda c: c.redemption_id,
    )  # fmt: skip


async def _refund(
    conn: BaseDBAsyncClient,
    claimed: list[_Claimed],
    rewards: dict[int, str],
    olds: dict[int, Standing],
    now: datetime,
    programme: Programme,
) -> dict[int, int]:
    """With `refund_on_expiry`, each voucher's points back to the lots they came from; of each
    voucher refunded, the points that came back to lots expired since and so expired at once
    (a voucher missing here got nothing back)."""
    if not programme.vouchers.refund_on_expiry:
        return {}
    refunds = {
        c.redemption_id: Refund(
            c.member_id,
            c.points,
            f"redemption:{c.redemption_id}",
            reasons.write("voucher_refund", reward=rewards[c.reward_id]),
        )
        for c in claimed
        if c.points > 0
    }
    done = await refund_spends(
        conn, list(refunds.values()), olds, now=now, expires_at=expires_at(now, programme.expiry)
    )
    return {redemption_id: done[r.ref].expired for redemption_id, r in refunds.items()}


async def _restock(conn: BaseDBAsyncClient, claimed: list[_Claimed]) -> None:
    """Each item back to stock: one conditional UPDATE a reward (a batch holds a few), in id
    order; a reward without a stock count is left so."""
    items = Counter(c.reward_id for c in claimed)
    for reward_id in sorted(items):
        await (
            Reward.filter(id=reward_id, stock__isnull=False)
            .using_db(conn)
            .update(stock=F("stock") + items[reward_id])
        )


async def _tell(
    outbox: Outbox, events: list[VoucherExpired], now: datetime, programme: Programme
) -> None:
    """Each member told that their voucher expired, one message a voucher, keyed by it."""
    members = await Member.filter(id__in=list({e.member_id for e in events})).values(*MEMBER_FIELDS)
    by_id = {int(row["id"]): row for row in members}
    batch = await outbox.batch(members, now)
    letters = [
        batch.letter(
            by_id[e.member_id],
            announcements.voucher_expired(programme, e.reward_name, e.code, e.points_returned, now),
            outbox_key("voucher", e.redemption_id, "expired"),
        )
        for e in events
    ]
    await batch.record(letters)
