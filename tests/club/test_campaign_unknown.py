"""A campaign's messages of unknown outcome (WeChat never answered: they may have gone), against
the fake WeChat: counted in the campaign's cost as those sent are, by template or by the mass
send alike (an agency that charges by message charges for what it handed to WeChat); and a
template one that then meets 45009 goes by no other channel, while the day's quota is still
marked spent."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.kv import Redis
from bot.wechat.sender import WeChatMassSender, WeChatSender
from club.campaigns import lifecycle, quota, tick
from club.campaigns.context import CampaignContext
from club.campaigns.effect import effect
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.campaigns.progress import progress
from club.clock import FixedClock
from club.db.models.campaigns import CampaignRecipient, CampaignRun, MassSend
from club.db.models.outbox import OutboxMessage
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Unpaced
from club.messaging.plan import delivery_rules
from club.programme.demo import demo_programme
from club.rules.campaigns import Action, MassStatus, RecipientState, RunStatus
from club.rules.programme import Programme
from tests.bot.test_sending import make_api
from tests.club.test_campaign_mass import STAFF, started
from tests.fakes import FakeWeChat, Reply

TEMPLATE = "message/template/send"
SENDALL = "message/mass/sendall"
DROPPED = Reply(drop=True)
MEMBERS = 10
BY_TEMPLATE = 3
COST = 5
"""Fen a message (an agency's price; WeChat charges nothing)."""


def costly() -> Programme:
    """The day's template quota takes 3 members, the mass send the rest; 5 fen a message."""
    demo = demo_programme()
    campaigns = dataclasses.replace(
        demo.campaigns, template_daily_quota=BY_TEMPLATE, message_cost_fen=COST
    )
    return dataclasses.replace(demo, campaigns=campaigns)


@contextlib.asynccontextmanager
async def against(
    fake_wechat: FakeWeChat, clock: FixedClock, store: Redis, *, timeout: float
) -> AsyncIterator[CampaignContext]:
    """`costly`'s campaigns, templates and the mass send both to the fake WeChat (one call an
    attempt, given up after `timeout` seconds)."""
    programme = costly()
    async with aiohttp.ClientSession() as http:
        api = make_api(
            fake_wechat.base_url, http, store, timeout=aiohttp.ClientTimeout(total=timeout)
        )
        await api.tokens.get()  # a token, so that only the sends are scripted
        delivery = Delivery(WeChatSender(api), delivery_rules(programme), clock)
        yield CampaignContext(
            programme, clock, Outbox(programme), delivery, Unpaced(), WeChatMassSender(api)
        )


@pytest.fixture
async def ctx(
    db: None, clock: FixedClock, fake_wechat: FakeWeChat, store: Redis
) -> AsyncIterator[CampaignContext]:
    """Templates and the mass send both go to the fake WeChat (one call an attempt)."""
    async with against(fake_wechat, clock, store, timeout=10) as found:
        yield found


async def test_messages_of_unknown_outcome_count_in_the_cost_by_template_and_by_mass(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    fake_wechat.script(TEMPLATE, [DROPPED] * 50)
    fake_wechat.script(SENDALL, [DROPPED] * 50)
    run = await started(ctx, MEMBERS)  # the templates went unanswered: they wait to go again
    assert run.status is RunStatus.SENDING
    for _ in range(6):  # the chunk's next tasks send them again until they end
        clock.advance(timedelta(minutes=2))
        await run_chunk(ctx, run.id, 0)
    template_rows = await OutboxMessage.filter(channel="template").values_list("outcome", flat=True)
    assert template_rows == ["outcome_unknown"] * BY_TEMPLATE
    await tick.tick(ctx, clock.now())  # -> mass
    for _ in range(6):  # every attempt of the mass send unanswered
        await advance_mass(ctx, run.id)
        clock.advance(timedelta(hours=1))
    assert (await MassSend.get(run_id=run.id)).status is MassStatus.UNKNOWN
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": MEMBERS} and found.sent == 0

    campaign = await lifecycle.get(run.campaign_id)
    measured = await effect(campaign, ctx.programme, clock.now())
    assert measured is not None
    assert measured.cost == {
        "points": 0,
        "points_fen": 0,
        "messages": MEMBERS,
        "messages_outcome_unknown": MEMBERS,
        "messages_fen": MEMBERS * COST,
    }
    assert measured.cost_fen == MEMBERS * COST
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.MASS  # the tag waits a day


async def test_a_template_unanswered_then_over_quota_goes_by_no_other_channel(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """The chunk's retries meet 45009: the messages may have reached their members already, so
    they end outcome unknown instead of going by the mass send (a second message); the day's
    template quota is marked spent all the same, and the mass send takes the others only."""
    fake_wechat.script(TEMPLATE, [DROPPED] * BY_TEMPLATE + [45009] * BY_TEMPLATE)
    run = await started(ctx, MEMBERS)
    clock.advance(timedelta(minutes=1))
    await run_chunk(ctx, run.id, 0)
    outcomes = await OutboxMessage.filter(channel="template").values_list("outcome", flat=True)
    assert outcomes == ["outcome_unknown"] * BY_TEMPLATE
    assert await quota.status(clock.now().date()) == (BY_TEMPLATE, True)
    states = await CampaignRecipient.filter(run_id=run.id).values_list("state", flat=True)
    assert sorted(states).count(RecipientState.MESSAGED) == BY_TEMPLATE
    await tick.tick(ctx, clock.now())  # -> mass
    await advance_mass(ctx, run.id)
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and send.tag_id is not None
    assert len(fake_wechat.tagged(send.tag_id)) == MEMBERS - BY_TEMPLATE
    assert fake_wechat.count(TEMPLATE) == 2 * BY_TEMPLATE
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": BY_TEMPLATE}
    assert found.sent_by_channel == {"mass": MEMBERS - BY_TEMPLATE} and found.adds_up()


async def unanswered_templates(ctx: CampaignContext, fake_wechat: FakeWeChat) -> CampaignRun:
    """The run's template messages went unanswered (WeChat took them): queued to go again
    under their `client_msg_id`, the others waiting for the mass send."""
    fake_wechat.script(TEMPLATE, [dataclasses.replace(DROPPED, act=True)] * BY_TEMPLATE)
    run = await started(ctx, MEMBERS)
    assert run.status is RunStatus.SENDING
    rows = await OutboxMessage.filter(channel="template").values_list("status", "maybe_sent")
    assert rows == [("queued", True)] * BY_TEMPLATE
    return run


async def cost(ctx: CampaignContext, campaign_id: int, clock: FixedClock) -> dict[str, int]:
    measured = await effect(await lifecycle.get(campaign_id), ctx.programme, clock.now())
    assert measured is not None
    return measured.cost


async def test_a_template_that_may_have_gone_is_not_moved_to_the_mass_send_when_the_quota_is_spent(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """The day's quota is marked spent (another batch heard 45009) while the unanswered
    templates wait for their retry: their members may have the message already, so they end
    outcome unknown instead of going by the mass send (a second message), and count so."""
    run = await unanswered_templates(ctx, fake_wechat)
    await quota.mark_spent(clock.now().date(), clock.now())
    clock.advance(timedelta(minutes=1))
    await run_chunk(ctx, run.id, 0)
    outcomes = await OutboxMessage.filter(channel="template").values_list("outcome", flat=True)
    assert outcomes == ["outcome_unknown"] * BY_TEMPLATE
    states = await CampaignRecipient.filter(run_id=run.id).values_list("state", flat=True)
    assert sorted(states).count(RecipientState.MESSAGED) == BY_TEMPLATE
    await tick.tick(ctx, clock.now())  # -> mass
    await advance_mass(ctx, run.id)
    send = await MassSend.get(run_id=run.id)
    assert send.tag_id is not None
    assert len(fake_wechat.tagged(send.tag_id)) == MEMBERS - BY_TEMPLATE
    assert fake_wechat.count(TEMPLATE) == BY_TEMPLATE
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": BY_TEMPLATE}
    assert found.sent_by_channel == {"mass": MEMBERS - BY_TEMPLATE} and found.adds_up()
    spent = await cost(ctx, run.campaign_id, clock)
    assert (spent["messages"], spent["messages_outcome_unknown"]) == (MEMBERS, BY_TEMPLATE)


async def test_a_template_that_may_have_gone_is_outcome_unknown_when_the_campaign_is_cancelled(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """Cancelled while the unanswered templates wait for their retry: not sent again, and
    recorded as what they are (they may have reached the members: outcome unknown, in the
    figures and the cost), not as skipped; the members waiting for the mass send are skipped."""
    run = await unanswered_templates(ctx, fake_wechat)
    campaign = await lifecycle.get(run.campaign_id)
    await lifecycle.move(campaign, Action.CANCEL, clock.now(), STAFF, "wrong text")
    rows = await OutboxMessage.filter(channel="template").values_list("status", "outcome")
    assert rows == [("failed", "outcome_unknown")] * BY_TEMPLATE
    clock.advance(timedelta(minutes=1))
    await run_chunk(ctx, run.id, 0)
    assert fake_wechat.count(TEMPLATE) == BY_TEMPLATE
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": BY_TEMPLATE}
    assert found.skipped == {"campaign cancelled": MEMBERS - BY_TEMPLATE} and found.adds_up()
    spent = await cost(ctx, run.campaign_id, clock)
    assert (spent["messages"], spent["messages_outcome_unknown"]) == (BY_TEMPLATE, BY_TEMPLATE)
    assert spent["messages_fen"] == BY_TEMPLATE * COST
