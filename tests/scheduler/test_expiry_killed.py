"""`expire-points` killed half-way and run again, as real processes on PostgreSQL and Redis:
each lot past its date leaves its member's balance once, and each member is reminded once of
the points expiring soon. The run's own record is left half-written by a SIGKILL; what keeps
the effects single is each one's own key (the lot emptied in the transaction of its ledger row,
the reminder's outbox key)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from club.clock import SystemClock
from club.db.models.ledger import LedgerEntry
from club.db.models.outbox import OutboxMessage
from club.points.bulk import Credit, credit_many
from club.points.expiry import BATCH
from club.rules.kinds import EntryKind
from tests.conftest import TZ
from tests.scheduler.killed import assert_ledger_holds, kill_when, members, per_member, run_again

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

MEMBERS = 4 * BATCH
"""Four transactions of expiry: the run is killed once the first has committed."""
OLD, SOON = 100, 30
"""Each member's lot past its date, and the one expiring within the reminder days."""


async def members_with_expiring_points(now: datetime) -> list[int]:
    ids = await members(MEMBERS, "Expiry", now)
    earned = now - timedelta(days=400)
    for points, ref, until in (
        (OLD, "old", now - timedelta(hours=1)),
        (SOON, "soon", now + timedelta(days=10)),
    ):
        gifts = [Credit(m, points, f"{ref}:{m}", "seed") for m in ids]
        await credit_many(gifts, now=earned, expires_at=until)
    return ids


async def expired_entries() -> int:
    return await LedgerEntry.filter(kind=EntryKind.EXPIRE).count()


async def first_batch_expired() -> bool:
    return await expired_entries() >= BATCH


async def test_expiry_killed_half_way_and_run_again_takes_each_lot_once(
    pg_only: None, redis_only: None, db: None
) -> None:
    now = SystemClock(TZ).now()
    day = now.date().isoformat()
    member_ids = await members_with_expiring_points(now)

    await kill_when("expire-points", day, first_batch_expired)
    assert BATCH <= await expired_entries() < MEMBERS, "killed half-way"
    await run_again("expire-points", day)

    # Each member lost the lot past its date once and kept the one expiring soon.
    assert await per_member(LedgerEntry.filter(kind=EntryKind.EXPIRE)) == Counter(member_ids)
    assert set(
        await LedgerEntry.filter(kind=EntryKind.EXPIRE).values_list("points", flat=True)
    ) == {-OLD}
    await assert_ledger_holds(dict.fromkeys(member_ids, SOON))
    # One reminder each of the points expiring soon, and no other message.
    assert await per_member(OutboxMessage.all()) == Counter(member_ids)
    keys = set(await OutboxMessage.all().values_list("idempotency_key", flat=True))
    assert all(key.startswith("expiry:") for key in keys), keys
