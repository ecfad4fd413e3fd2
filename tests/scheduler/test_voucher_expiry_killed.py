"""The voucher step of `expire-points` killed half-way and run again, as real processes on
PostgreSQL and Redis: each voucher past its time expires once, its points come back once (the
demo programme's `refund_on_expiry`) to the lots they were taken from, or come back and expire
at once where that lot has expired since, its item goes back to stock once, and its member is
told once. What keeps each single is its batch's transaction: the conditional status update,
the refund's ledger ref, the outbox key."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from club.clock import SystemClock
from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import LedgerEntry
from club.db.models.outbox import OutboxMessage
from club.points.bulk import Credit, credit_many
from club.programme import load_programme
from club.rewards.redemptions import create_reward, redeem
from club.rewards.voucher_expiry import EXPIRE_BATCH
from club.rules.kinds import EntryKind
from tests.conftest import TZ
from tests.scheduler.killed import assert_ledger_holds, kill_when, members, per_member, run_again

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

VOUCHERS = 750
"""One member each; the run is killed once a third of them have expired (whole batches)."""
assert VOUCHERS >= 5 * EXPIRE_BATCH, "a few batches are left to kill the run in"
COST = 200
SPARE = 5
"""Items left in stock after the redemptions."""


async def vouchers_past_their_time(now: datetime) -> tuple[list[int], list[int], int]:
    """Each member redeemed a reward 40 days ago with all their points (its voucher valid 30
    days): the even ones' points from a lot still valid, the odd ones' from a lot that has
    expired since. The members of each kind, and the reward."""
    ids = await members(VOUCHERS, "Voucher", now)
    kept, lapsed = ids[::2], ids[1::2]
    redeemed = now - timedelta(days=40)
    earned = redeemed - timedelta(days=1)
    for group, until in ((kept, now + timedelta(days=200)), (lapsed, now - timedelta(days=5))):
        lots = [Credit(m, COST, f"seed:{m}", "seed") for m in group]
        await credit_many(lots, now=earned, expires_at=until)
    programme = load_programme(None)
    reward = await create_reward(
        "醒酒器", COST, earned, programme, stock=VOUCHERS + SPARE, cancel_window_hours=1
    )
    for m in ids:
        await redeem(m, reward.id, redeemed, f"seed-redeem:{m}", programme)
    assert await Redemption.filter(expires_at__lte=now).count() == VOUCHERS
    return kept, lapsed, reward.id


async def expired_vouchers() -> int:
    return await Redemption.filter(status=RedemptionStatus.EXPIRED).count()


async def a_third_expired() -> bool:
    return await expired_vouchers() >= VOUCHERS // 3


async def test_voucher_expiry_killed_half_way_and_run_again_expires_and_refunds_each_once(
    pg_only: None, redis_only: None, db: None
) -> None:
    now = SystemClock(TZ).now()
    day = now.date().isoformat()
    kept, lapsed, reward_id = await vouchers_past_their_time(now)
    member_ids = kept + lapsed

    await kill_when("expire-points", day, a_third_expired)
    done = await expired_vouchers()
    assert VOUCHERS // 3 <= done < VOUCHERS, "killed half-way"
    # What the kill left is whole vouchers: each expired one refunded, restocked and told.
    assert await LedgerEntry.filter(kind=EntryKind.REFUND).count() == done
    assert await OutboxMessage.all().count() == done
    assert (await Reward.get(id=reward_id)).stock == SPARE + done

    before = Redemption.filter(status=RedemptionStatus.EXPIRED)
    rest = set(member_ids) - set(await before.values_list("member_id", flat=True))

    out = await run_again("expire-points", day)
    # The second attempt's own counts; points that expired at once are not counted as returned.
    returned = COST * len(rest & set(kept))
    assert f"vouchers_expired={len(rest)} voucher_points_returned={returned} " in out, out

    assert await expired_vouchers() == VOUCHERS
    refunds = LedgerEntry.filter(kind=EntryKind.REFUND)
    assert await per_member(refunds) == Counter(member_ids)
    assert set(await refunds.values_list("points", flat=True)) == {COST}
    # The points of a lot that expired since the redemption come back and expire at once.
    expired = LedgerEntry.filter(kind=EntryKind.EXPIRE)
    assert await per_member(expired) == Counter(lapsed)
    assert set(await expired.values_list("points", flat=True)) == {-COST}
    assert all(ref.startswith("redemption:") for ref in await expired.values_list("ref", flat=True))
    await assert_ledger_holds({**dict.fromkeys(kept, COST), **dict.fromkeys(lapsed, 0)})
    assert (await Reward.get(id=reward_id)).stock == VOUCHERS + SPARE
    # Each member told once that their voucher expired, and nothing else.
    assert await per_member(OutboxMessage.all()) == Counter(member_ids)
    keys = await OutboxMessage.all().values_list("idempotency_key", flat=True)
    assert all(key.startswith("voucher:") and key.endswith(":expired") for key in keys), keys
