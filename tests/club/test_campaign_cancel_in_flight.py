"""A campaign cancelled while its template messages are in WeChat's hands (rows `sending`),
against the fake WeChat. Whatever those sends come to, a row of a cancelled campaign that ends
up waiting again is never left waiting for good: their sender dies (the outbox sweep puts the
rows back to the queue, they may have gone), WeChat answers busy (queued for a retry, never
went), or WeChat answers 45009 (the members moved to the mass send of a run that will never
send one). Each is withdrawn as the cancel withdraws what waits: one that may have gone is
outcome unknown and its member keeps the bonus, one that never went is skipped and its bonus
goes back to the budget; the run comes to rest (its counts stored) and the cost counts it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.kv import Redis
from club.campaigns import lifecycle, tick
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.campaigns.progress import progress
from club.clock import FixedClock
from club.db.models.campaigns import Campaign, CampaignRecipient, CampaignRun
from club.db.models.outbox import OutboxMessage
from club.rules.campaigns import Action, RecipientState, RunStatus
from tests.club.test_campaign_bonus import BONUS, credits, history, kept, with_bonus
from tests.club.test_campaign_mass import STAFF, scheduled
from tests.club.test_campaign_unknown import BY_TEMPLATE, MEMBERS, TEMPLATE, against, cost
from tests.fakes import FakeWeChat, Reply, errcode

CANCELLED = "campaign cancelled"


@pytest.fixture
async def ctx(
    db: None, clock: FixedClock, fake_wechat: FakeWeChat, store: Redis
) -> AsyncIterator[CampaignContext]:
    """`costly`'s campaign (3 members by template, the rest by the mass send), the client
    waiting long enough for WeChat's held answers."""
    async with against(fake_wechat, clock, store, timeout=10) as found:
        yield found


@dataclasses.dataclass
class InFlight:
    run: CampaignRun
    worker: asyncio.Task[object]
    """The chunk's worker, in WeChat's calls."""
    answer: asyncio.Event
    """Set: WeChat answers."""


async def cancelled_in_flight(
    ctx: CampaignContext, fake_wechat: FakeWeChat, answer: Reply
) -> InFlight:
    """The chunk's worker sends the 3 templates, WeChat holds its `answer` to each, and staff
    cancel meanwhile (the rows `sending`)."""
    answered = asyncio.Event()
    fake_wechat.script(TEMPLATE, [dataclasses.replace(answer, until=answered)] * BY_TEMPLATE)
    run = await scheduled(ctx, MEMBERS, **with_bonus(MEMBERS))
    worker: asyncio.Task[object] = asyncio.create_task(run_chunk(ctx, run.id, 0))
    async with asyncio.timeout(10):  # a loaded machine; WeChat holds its answers meanwhile
        while fake_wechat.count(TEMPLATE) < BY_TEMPLATE:
            await asyncio.sleep(0.005)
    sending = await OutboxMessage.filter(channel="template").values_list("status", flat=True)
    assert sending == ["sending"] * BY_TEMPLATE
    campaign = await lifecycle.get(run.campaign_id)
    await lifecycle.move(campaign, Action.CANCEL, ctx.clock.now(), STAFF, "wrong text")
    return InFlight(await CampaignRun.get(id=run.id), worker, answered)


async def answered(flight: InFlight) -> CampaignRun:
    """WeChat answers; the worker records what its sends came to."""
    flight.answer.set()
    await flight.worker
    return flight.run


async def at_rest(ctx: CampaignContext, run: CampaignRun, clock: FixedClock) -> None:
    """What the scheduler does next: its ticks (and the outbox sweep) over a few minutes."""
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        await ctx.delivery.send_due()
        await tick.tick(ctx, clock.now())
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.CANCELLED


async def templates() -> list[tuple[str, str]]:
    found = await OutboxMessage.filter(channel="template").order_by("id")
    return [(row.status.value, row.outcome or "") for row in found]


async def settled(run: CampaignRun) -> bool:
    """The run's counts are final and stored on it (read once more: stored at a read)."""
    await progress(run.campaign_id)
    return (await CampaignRun.get(id=run.id)).progress is not None


async def test_templates_whose_sender_died_after_the_cancel_end_outcome_unknown_and_keep_the_bonus(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """WeChat took the templates; their worker dies in the calls. Past the lease the outbox
    sweep puts them back to the queue (they may have gone: sent again they show once), but the
    campaign is cancelled and nothing sends its rows again: they are withdrawn, outcome
    unknown, their members keep the bonus (never sent a second time); the run comes to rest."""
    flight = await cancelled_in_flight(ctx, fake_wechat, Reply(act=True))
    flight.worker.cancel()  # the worker's process dies inside WeChat's calls
    with pytest.raises(asyncio.CancelledError):
        await flight.worker
    flight.answer.set()  # to nobody
    run = flight.run
    assert await templates() == [("sending", "")] * BY_TEMPLATE
    await at_rest(ctx, run, clock)
    assert await templates() == [("failed", "outcome_unknown")] * BY_TEMPLATE
    assert fake_wechat.count(TEMPLATE) == BY_TEMPLATE  # never sent again
    reached = fake_wechat.delivered("template")
    assert len(reached) == BY_TEMPLATE
    assert await credits(run.campaign_id) == {openid: BONUS for openid in reached}
    assert await kept(ctx, run.campaign_id) == (BY_TEMPLATE * BONUS, BY_TEMPLATE * BONUS, 0)
    assert await history(reached[0]) == [(BONUS, "活动奖励 冬至")]
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": BY_TEMPLATE}
    assert found.skipped == {CANCELLED: MEMBERS - BY_TEMPLATE}
    assert found.at_rest() and found.adds_up() and await settled(run)
    spent = await cost(ctx, run.campaign_id, clock)
    assert (spent["messages"], spent["messages_outcome_unknown"]) == (BY_TEMPLATE, BY_TEMPLATE)


async def test_templates_answered_busy_after_the_cancel_are_skipped_and_give_the_bonus_back(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """WeChat answers -1 (busy: it took nothing) after the cancel: the rows go back to the
    queue for a retry that nothing will make. They never went: skipped as cancelled, and what
    was reserved for their members goes back to the budget."""
    run = await answered(await cancelled_in_flight(ctx, fake_wechat, Reply(body=errcode(-1))))
    assert [s for s, _ in await templates()] == ["queued"] * BY_TEMPLATE
    await at_rest(ctx, run, clock)
    assert [s for s, _ in await templates()] == ["skipped"] * BY_TEMPLATE
    assert fake_wechat.count(TEMPLATE) == BY_TEMPLATE and fake_wechat.delivered("template") == []
    assert await credits(run.campaign_id) == {}
    assert await kept(ctx, run.campaign_id) == (0, 0, 0)
    campaign = await Campaign.get(id=run.campaign_id)
    assert campaign.budget_points - campaign.points_awarded - campaign.points_reserved == (
        MEMBERS * BONUS
    )
    found = await progress(run.campaign_id)
    assert found.skipped == {CANCELLED: MEMBERS} and found.failed == {}
    assert found.at_rest() and found.adds_up() and await settled(run)
    assert (await cost(ctx, run.campaign_id, clock))["messages"] == 0


async def test_templates_answered_45009_after_the_cancel_do_not_wait_for_a_mass_send(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """WeChat answers 45009 after the cancel: the worker moves those members to the run's mass
    send, which a cancelled run never makes. They are skipped as cancelled, and the bonus
    reserved for them goes back to the budget."""
    run = await answered(await cancelled_in_flight(ctx, fake_wechat, Reply(body=errcode(45009))))
    await at_rest(ctx, run, clock)
    states = await CampaignRecipient.filter(run_id=run.id).values_list("state", "reason")
    assert states == [(RecipientState.SKIPPED, CANCELLED)] * MEMBERS
    assert fake_wechat.delivered("template") == []
    assert await kept(ctx, run.campaign_id) == (0, 0, 0)
    found = await progress(run.campaign_id)
    assert found.skipped == {CANCELLED: MEMBERS} and found.mass_waiting == 0
    assert found.at_rest() and found.adds_up() and await settled(run)
