"""WeChat shows one template message per openid and `client_msg_id` within 10 minutes only, and
the fake WeChat is as strict, by a clock the test moves (`fake_wechat.now = clock.now`): a
resend after the window reaches the member a second time. So these tests would see a campaign
template that may have gone (WeChat took it, its answer was lost or its sender died) sent again
too late: it never is; inside the window it is, and the member has it once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from club.campaigns import tick
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.clock import FixedClock
from club.db.models.campaigns import CampaignRun
from club.db.models.outbox import OutboxMessage
from club.messaging.message import Template
from tests.club.test_campaign_bonus import BONUS, credits, with_bonus
from tests.club.test_campaign_cancel_in_flight import ctx
from tests.club.test_campaign_mass import scheduled
from tests.club.test_campaign_unknown import BY_TEMPLATE, DROPPED, MEMBERS, TEMPLATE
from tests.fakes import FakeWeChat, Reply

__all__ = ["ctx"]  # the fixture: templates to the fake WeChat, a patient client

PAST_THE_WINDOW = timedelta(minutes=15)
INSIDE_THE_WINDOW = timedelta(minutes=2)


@pytest.fixture(autouse=True)
def wechat_time(fake_wechat: FakeWeChat, clock: FixedClock) -> None:
    """WeChat's clock is the test's: it forgets a `client_msg_id` as the test's time passes."""
    fake_wechat.now = clock.now


async def template_rows() -> list[tuple[str, str]]:
    found = await OutboxMessage.filter(channel="template").order_by("id")
    return [(row.status.value, row.outcome or "") for row in found]


async def test_the_fake_wechat_delivers_a_template_again_after_its_window(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """What makes the tests below mean something: one `client_msg_id` sent at 10:00, 10:09:59
    (shown once) and 10:10 (shown again)."""
    content = Template("TPL-CAMPAIGN", {"thing1": "冬至品鉴"})
    for wait in (timedelta(0), timedelta(minutes=9, seconds=59), timedelta(seconds=1)):
        clock.advance(wait)
        await ctx.delivery.sender.send("o-m-000", content, ref="clubbot-outbox-1")
    assert fake_wechat.count(TEMPLATE) == 3
    assert fake_wechat.delivered("template") == ["o-m-000", "o-m-000"]


async def sent_unanswered(ctx: CampaignContext, fake_wechat: FakeWeChat) -> CampaignRun:
    """The campaign's 3 templates went to WeChat, which took them, and the answers were lost:
    queued to go again under their `client_msg_id` (they may have gone)."""
    fake_wechat.script(TEMPLATE, [dataclasses.replace(DROPPED, act=True)] * BY_TEMPLATE)
    run = await scheduled(ctx, MEMBERS, **with_bonus(MEMBERS))
    await run_chunk(ctx, run.id, 0)
    assert await template_rows() == [("queued", "retry")] * BY_TEMPLATE
    return run


async def sender_died(ctx: CampaignContext, fake_wechat: FakeWeChat) -> CampaignRun:
    """The campaign's 3 templates went to WeChat, which took them, and their worker died in
    the calls: the rows are left `sending`."""
    answer = asyncio.Event()
    fake_wechat.script(TEMPLATE, [Reply(act=True, until=answer)] * BY_TEMPLATE)
    run = await scheduled(ctx, MEMBERS, **with_bonus(MEMBERS))
    worker = asyncio.create_task(run_chunk(ctx, run.id, 0))
    async with asyncio.timeout(10):
        while fake_wechat.count(TEMPLATE) < BY_TEMPLATE:
            await asyncio.sleep(0.005)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    answer.set()  # to nobody
    assert await template_rows() == [("sending", "")] * BY_TEMPLATE
    return run


async def workers_back(ctx: CampaignContext, run: CampaignRun, clock: FixedClock) -> None:
    """The outbox sweep, the chunk handed on again, the scheduler's tick."""
    await ctx.delivery.send_due()
    await run_chunk(ctx, run.id, 0)
    await tick.tick(ctx, clock.now())


@pytest.mark.parametrize("how", [sent_unanswered, sender_died], ids=["unanswered", "died"])
async def test_a_template_that_may_have_gone_is_not_sent_again_after_the_window(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock, how: object
) -> None:
    """The workers are back 15 minutes later, past WeChat's 10: sent now, the message would
    reach its member a second time. Not sent: outcome unknown, its member keeps the bonus."""
    assert callable(how)
    run = await how(ctx, fake_wechat)
    reached = fake_wechat.delivered("template")
    assert len(set(reached)) == len(reached) == BY_TEMPLATE
    clock.advance(PAST_THE_WINDOW)
    await workers_back(ctx, run, clock)
    assert fake_wechat.delivered("template") == reached  # nobody has it twice
    assert await template_rows() == [("failed", "outcome_unknown")] * BY_TEMPLATE
    assert await credits(run.campaign_id) == {openid: BONUS for openid in reached}


async def test_a_template_whose_sender_died_is_sent_again_inside_the_window_and_shows_once(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """Back 2 minutes later: sent again under the same `client_msg_id`, which WeChat (and the
    fake) shows once; recorded sent."""
    run = await sender_died(ctx, fake_wechat)
    reached = fake_wechat.delivered("template")
    clock.advance(INSIDE_THE_WINDOW)
    await workers_back(ctx, run, clock)
    assert fake_wechat.count(TEMPLATE) == 2 * BY_TEMPLATE
    assert fake_wechat.delivered("template") == reached
    assert await template_rows() == [("sent", "sent")] * BY_TEMPLATE
    assert await credits(run.campaign_id) == {openid: BONUS for openid in reached}
