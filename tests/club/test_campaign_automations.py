"""An automation over three days of a changing member base: each day's run takes the members who
entered the segment since the last, each member is messaged once, and a day run twice sends
nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.wechat.sender import DryRunMassSender, DryRunSender
from club.campaigns import lifecycle, tick
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.clock import FixedClock
from club.db.models.campaigns import CampaignRun
from club.db.models.outbox import OutboxMessage
from club.db.models.segments import Segment, SegmentKind
from club.db.models.staff import StaffRole
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Unpaced
from club.messaging.plan import delivery_rules
from club.programme.demo import demo_programme
from club.rules.campaigns import CampaignStatus
from club.sales.purchases import record_purchase
from club.staff.accounts import StaffIdentity
from scheduler.jobs import JobContext, job_body
from tests.club.campaign_support import member

TZ = ZoneInfo("Asia/Shanghai")
DAY1 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
STAFF = StaffIdentity(1, "marketer-1", StaffRole.MARKETER)
NEW_AND_NO_PURCHASE = {
    "rule": "and",
    "rules": [
        {"rule": "joined", "more_than_days": 7},
        {"rule": "not", "of": {"rule": "purchase_count", "min": 1}},
    ],
}


class Queue:
    def __init__(self) -> None:
        self.pending: list[tuple[int, int]] = []

    async def chunks_of(self, ctx: CampaignContext) -> None:
        """Play the workers: send every chunk handed over so far."""
        waiting, self.pending = self.pending, []
        for run_id, number in waiting:
            await run_chunk(ctx, run_id, number)

    async def chunks(self, run_id: int, numbers: Sequence[int]) -> None:
        self.pending += [(run_id, n) for n in numbers]

    async def mass(self, run_id: int) -> None:
        return None


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DAY1)


async def test_three_daily_runs_message_each_member_once(db: None, clock: FixedClock) -> None:
    programme = demo_programme()
    queue = Queue()
    delivery = Delivery(DryRunSender(), delivery_rules(programme), clock)
    ctx = CampaignContext(
        programme, clock, Outbox(programme), delivery, Unpaced(), DryRunMassSender(), queue
    )
    jobs = JobContext(programme=programme, clock=clock, outbox=ctx.outbox, campaigns=ctx)
    joined = {
        "ann": DAY1 - timedelta(days=10),
        "bob": DAY1 - timedelta(days=8),
        "cat": DAY1 - timedelta(days=6, hours=12),  # enters on day 2
        "dan": DAY1 - timedelta(days=5, hours=12),  # enters on day 3
        "eve": DAY1 - timedelta(days=1),  # enters on day 7: after the test
    }
    members = {
        name: await member(name, DAY1, window=True, joined_at=at) for name, at in joined.items()
    }
    segment = await Segment.create(
        name="new, no purchase", kind=SegmentKind.RULE, rule=NEW_AND_NO_PURCHASE, created_at=DAY1
    )
    spec = lifecycle.Spec(
        "新会员首购礼",
        segment.id,
        msg.CampaignMessage("首次购买立享双倍积分"),
        daily_at=time(10, 0),
    )
    campaign = await lifecycle.create(spec, programme=programme, now=DAY1, staff=STAFF)
    await lifecycle.schedule(campaign.id, send_at=None, programme=programme, now=DAY1, staff=STAFF)

    async def messaged() -> list[str]:
        rows = (
            await OutboxMessage.filter(kind="campaign")
            .order_by("id")
            .values_list("openid", flat=True)
        )
        return [str(r) for r in rows]

    # Day 1, by hand: `python -m scheduler run automations`.
    assert (await job_body("automations", jobs)(DAY1.date()))["started"] == 1
    await queue.chunks_of(ctx)
    assert await messaged() == ["ann", "bob"]

    # Day 2: the scheduler's tick, before and at the automation's time.
    clock.set(DAY1 + timedelta(days=1, minutes=-1))
    assert (await tick.tick(ctx, clock.now())).get("automations_started", 0) == 0
    clock.advance(timedelta(minutes=1))
    assert (await tick.tick(ctx, clock.now()))["automations_started"] == 1
    await queue.chunks_of(ctx)
    assert await messaged() == ["ann", "bob", "cat"]

    # Day 3: Bob bought (he leaves the segment), Dan entered; the day run twice.
    clock.set(DAY1 + timedelta(days=2))
    await record_purchase(
        order_id="B-1", amount_fen=9_900, now=clock.now(), programme=programme,
        member_id=members["bob"].id,
    )  # fmt: skip
    counts = await job_body("automations", jobs)(clock.now().date())
    assert counts["recipients"] == 1
    assert (await job_body("automations", jobs)(clock.now().date()))["ran_already"] == 1
    await queue.chunks_of(ctx)
    await tick.tick(ctx, clock.now())
    assert await messaged() == ["ann", "bob", "cat", "dan"]
    runs = await CampaignRun.filter(campaign_id=campaign.id).order_by("day")
    assert [(r.day.day, r.recipients, r.status.value) for r in runs] == [
        (23, 2, "done"),
        (24, 1, "done"),
        (25, 1, "done"),
    ]
    # The automation stays active for the next day.
    assert (await lifecycle.get(campaign.id)).status is CampaignStatus.SCHEDULED
