"""The effect on a synthetic base with a known lift: the reported 95% interval contains it; with
no lift the difference is reported as not significant; purchases without a cost are counted,
never taken as free."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.wechat.sender import DryRunMassSender, DryRunSender
from club.campaigns import lifecycle
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.campaigns.effect import Effect, Metric, effect
from club.campaigns.tick import tick
from club.clock import FixedClock
from club.db.models.campaigns import Campaign, CampaignRecipient, CampaignRun
from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.db.models.staff import StaffRole
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Unpaced
from club.messaging.plan import delivery_rules
from club.programme.demo import demo_programme
from club.staff.accounts import StaffIdentity
from tests.club.campaign_support import everyone_segment
from tests.club.test_campaign_lifecycle import Kicks

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
STAFF = StaffIdentity(1, "marketer-1", StaffRole.MARKETER)
PROGRAMME = demo_programme()
MEMBERS = 4000


@pytest.fixture
def ctx(db: None) -> CampaignContext:
    """The campaign services with nobody sending (the effect needs only the frozen audience)."""
    clock = FixedClock(NOW)
    delivery = Delivery(DryRunSender(), delivery_rules(PROGRAMME), clock)
    return CampaignContext(
        PROGRAMME, clock, Outbox(PROGRAMME), delivery, Unpaced(), DryRunMassSender(), Kicks()
    )


async def a_run(ctx: CampaignContext) -> Campaign:
    """A campaign to MEMBERS members, half held out, started (nothing needs sending here)."""
    await Member.bulk_create(
        [Member(openid=f"o-eff-{i:05d}", joined_at=NOW, consent_at=NOW) for i in range(MEMBERS)]
    )
    segment = await everyone_segment(NOW)
    spec = lifecycle.Spec("双十二", segment.id, msg.CampaignMessage("会员日"), holdout_bp=5000)
    campaign = await lifecycle.create(spec, programme=PROGRAMME, now=NOW, staff=STAFF)
    # A fixed seed (created campaigns draw their own): the same holdout on every run of the test.
    await Campaign.filter(id=campaign.id).update(seed=20261123)
    await lifecycle.schedule(campaign.id, send_at=None, programme=PROGRAMME, now=NOW, staff=STAFF)
    await tick(ctx, NOW)
    return await lifecycle.get(campaign.id)


async def purchases(campaign: Campaign, *, treated: float, control: float, seed: int) -> None:
    """Each recipient buys once (10,000 fen, cost 6,000, 100 points) with the group's chance."""
    rng = random.Random(seed)
    run = await CampaignRun.get(campaign_id=campaign.id)
    bought = []
    for r in await CampaignRecipient.filter(run_id=run.id).order_by("id"):
        if rng.random() < (control if r.holdout else treated):
            bought.append(
                Purchase(
                    order_id=f"E-{r.member_id}", member_id=r.member_id, amount_fen=10_000,
                    cost_fen=6_000, points_earned=100, balance_after=100, tier_before="taste",
                    tier_after="taste", created_at=run.started_at + timedelta(days=3),
                )
            )  # fmt: skip
    await Purchase.bulk_create(bought)


def metric(found: Effect, name: str) -> Metric:
    return next(m for m in found.metrics if m.name == name)


async def test_a_known_lift_lies_in_the_reported_interval(ctx: CampaignContext) -> None:
    campaign = await a_run(ctx)
    await purchases(campaign, treated=0.30, control=0.20, seed=7)
    found = await effect(campaign, PROGRAMME, NOW + timedelta(days=31))
    assert found is not None and found.window_complete
    assert 1800 < found.held_out < 2200 and found.recipients + found.held_out == MEMBERS
    rate = metric(found, "purchase_rate")
    assert rate.low is not None and rate.high is not None
    assert rate.low < 0.10 < rate.high and rate.significant
    spend = metric(found, "spend_per_member_fen")
    assert spend.low is not None and spend.high is not None
    assert spend.low < 1_000 < spend.high and spend.significant  # 10 points of 10,000 fen
    # The reports' profit rule: 10,000 - 6,000 - 100 points at 2 fen - the consumer level's 2%
    # service cost = 3,600 a purchase, so a lift of 0.1 purchases a member is 360 fen.
    profit = metric(found, "profit_per_member_fen")
    assert profit.low is not None and profit.high is not None
    assert profit.low < 360 < profit.high
    assert profit.recipients == pytest.approx(3_600 * rate.recipients)
    assert "significant: purchase_rate" in found.says
    assert found.incremental_profit_fen is not None
    assert found.incremental_profit_fen.difference == pytest.approx(
        profit.difference * found.recipients
    )
    assert found.profit_per_yuan is None and "no cost recorded" in found.says


async def test_no_lift_is_reported_as_not_significant(ctx: CampaignContext) -> None:
    campaign = await a_run(ctx)
    await purchases(campaign, treated=0.20, control=0.20, seed=11)
    first = await Purchase.filter(order_id__startswith="E-").order_by("id").first()
    assert first is not None
    await Purchase.filter(id=first.id).update(cost_fen=None)
    found = await effect(campaign, PROGRAMME, NOW + timedelta(days=10))
    assert found is not None and not found.window_complete
    rate = metric(found, "purchase_rate")
    assert not rate.significant and "not significant" in rate.says
    assert rate.low is not None and rate.high is not None and rate.low < 0 < rate.high
    assert "no difference is significant" in found.says
    assert sum(n for k, n in found.purchases_without_cost.items() if k.endswith("_purchases")) == 1
    assert "window open until" in found.says


async def test_without_a_holdout_the_effect_says_it_cannot_be_measured(
    ctx: CampaignContext,
) -> None:
    await Member.create(openid="o-one", joined_at=NOW, consent_at=NOW)
    segment = await everyone_segment(NOW)
    spec = lifecycle.Spec("无对照", segment.id, msg.CampaignMessage("hi"))
    campaign = await lifecycle.create(spec, programme=PROGRAMME, now=NOW, staff=STAFF)
    await lifecycle.schedule(campaign.id, send_at=None, programme=PROGRAMME, now=NOW, staff=STAFF)
    assert await effect(campaign, PROGRAMME, NOW) is None  # not started
    await tick(ctx, NOW)
    found = await effect(await lifecycle.get(campaign.id), PROGRAMME, NOW)
    assert found is not None and found.metrics == []
    assert found.says.startswith("not measurable: the campaign has no held-out members")
