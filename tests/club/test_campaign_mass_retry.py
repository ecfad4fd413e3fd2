"""A mass send WeChat did not answer (a timeout, a dropped connection: it may have gone) is made
again under its `clientmsgid`, against the fake WeChat: sent once when an attempt is answered
(45065 when WeChat had it), its members `outcome_unknown` when none is, failed only when WeChat
said it did not take it. The API client's own retry (one here) is part of each attempt."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.kv import Redis
from bot.wechat.api import RetryPolicy
from bot.wechat.sender import WeChatMassSender
from club.campaigns import lifecycle, tick
from club.campaigns.context import CampaignContext
from club.campaigns.mass import MassResult, advance_mass, record_result
from club.campaigns.mass import needing_work as mass_needing_work
from club.campaigns.progress import progress, recipient_lines
from club.clock import FixedClock
from club.db.models.campaigns import CampaignRun, MassSend
from club.db.models.outbox import OutboxMessage
from club.messaging.outcomes import MAX_ATTEMPTS
from club.messaging.window import marketing_recent
from club.rules.campaigns import Action, MassStatus, RunStatus
from tests.bot.test_sending import make_api
from tests.club.test_campaign_mass import STAFF, mass_context, started
from tests.fakes import GIVE_UP_S, TOO_LATE, FakeWeChat, Reply

TZ = ZoneInfo("Asia/Shanghai")
SENDALL = "message/mass/sendall"
MEMBERS = 60
TIMEOUT = TOO_LATE  # past the client's GIVE_UP_S
DROPPED = Reply(drop=True)
CALLS = 2
"""HTTP calls an attempt makes: the API client retries an unanswered mass send once here."""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))


@pytest.fixture
async def ctx(
    db: None, clock: FixedClock, fake_wechat: FakeWeChat, store: Redis
) -> AsyncIterator[CampaignContext]:
    async with aiohttp.ClientSession() as http:
        api = make_api(
            fake_wechat.base_url,
            http,
            store,
            retry=RetryPolicy(retries=CALLS - 1, base_delay_s=0.001),
            timeout=aiohttp.ClientTimeout(total=GIVE_UP_S),
        )
        yield mass_context(clock, WeChatMassSender(api))


async def next_attempt(ctx: CampaignContext, clock: FixedClock, run: CampaignRun) -> None:
    """Not before its back-off; then the scheduler hands the run to the next task."""
    assert await mass_needing_work(clock.now()) == []
    clock.advance(timedelta(hours=1))
    assert await mass_needing_work(clock.now()) == [run.id]
    await advance_mass(ctx, run.id)


async def clientmsgids(fake: FakeWeChat) -> set[str]:
    return {str(call.body["clientmsgid"]) for call in fake.calls(SENDALL)}


async def waits_to_send_again(run: CampaignRun, fake: FakeWeChat) -> None:
    """Neither failed nor sent: the members wait, still tagged, for the next attempt."""
    found = await progress(run.campaign_id)
    assert found.mass_waiting == MEMBERS and not found.skipped and found.sent == 0
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.TAGGING and send.tag_id is not None
    assert len(fake.tagged(send.tag_id)) == MEMBERS


async def test_a_send_that_timed_out_is_made_again_and_recorded_sent(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [TIMEOUT] * CALLS)
    await advance_mass(ctx, run.id)
    await waits_to_send_again(run, fake_wechat)

    await next_attempt(ctx, clock, run)
    found = await progress(run.campaign_id)
    assert found.sent_by_channel == {"mass": MEMBERS} and found.at_rest() and found.adds_up()
    cid = f"clubbot-campaign-run-{run.id}"
    assert fake_wechat.count(SENDALL) == CALLS + 1
    assert await clientmsgids(fake_wechat) == {cid} and fake_wechat.mass_sends == {cid}
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and send.msg_id is not None  # its outcome can match


async def test_a_send_wechat_had_before_its_answer_was_lost_is_recorded_sent_once(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [dataclasses.replace(TIMEOUT, act=True), TIMEOUT])
    await advance_mass(ctx, run.id)
    await waits_to_send_again(run, fake_wechat)

    await next_attempt(ctx, clock, run)  # WeChat answers 45065: it had it
    cid = f"clubbot-campaign-run-{run.id}"
    assert await clientmsgids(fake_wechat) == {cid} and fake_wechat.mass_sends == {cid}
    found = await progress(run.campaign_id)
    assert found.sent_by_channel == {"mass": MEMBERS} and found.at_rest() and found.adds_up()
    rows = await OutboxMessage.filter(channel="mass").values_list("status", "outcome")
    assert rows == [("sent", "sent")] * MEMBERS
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and "45065" in (send.result or "")
    # 45065 named the send WeChat had: its MASSSENDJOBFINISH is matched to the run.
    assert send.msg_id == fake_wechat.mass_msg_id(cid)
    finished = MassResult(send.msg_id, "send success", MEMBERS, MEMBERS, MEMBERS, 0)
    assert await record_result(ctx, finished, clock.now())
    send = await MassSend.get(run_id=run.id)
    assert (send.status, send.sent_count) == (MassStatus.FINISHED, MEMBERS)


async def test_a_send_never_answered_ends_outcome_unknown_and_its_tag_goes_a_day_later(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [DROPPED] * (CALLS * MAX_ATTEMPTS))
    await advance_mass(ctx, run.id)
    for _ in range(MAX_ATTEMPTS - 1):
        await waits_to_send_again(run, fake_wechat)
        await next_attempt(ctx, clock, run)

    assert fake_wechat.count(SENDALL) == CALLS * MAX_ATTEMPTS  # and no more
    assert await clientmsgids(fake_wechat) == {f"clubbot-campaign-run-{run.id}"}
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": MEMBERS} and not found.skipped
    assert found.sent == 0 and found.at_rest() and found.adds_up()
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.UNKNOWN and send.attempts == MAX_ATTEMPTS
    rows = await OutboxMessage.filter(channel="mass").values_list("status", "outcome", "openid")
    assert {(status, outcome) for status, outcome, _ in rows} == {("failed", "outcome_unknown")}
    assert len(rows) == MEMBERS
    # They may have it: the weekly cap of marketing messages counts it.
    assert await marketing_recent([rows[0][2]], now=clock.now()) == {rows[0][2]: 1}
    lines = [line async for line in recipient_lines(run.campaign_id)]
    assert ",mass_unknown,mass,failed,outcome_unknown," in lines[1]

    assert send.tag_id is not None and len(fake_wechat.tagged(send.tag_id)) == MEMBERS
    assert await mass_needing_work(clock.now()) == []  # the tag stays a day, as after a send
    clock.advance(timedelta(days=1))
    assert await mass_needing_work(clock.now()) == [run.id]
    await advance_mass(ctx, run.id)
    assert fake_wechat.tags == {} and fake_wechat.count(SENDALL) == CALLS * MAX_ATTEMPTS
    await tick.tick(ctx, clock.now())
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.DONE


@pytest.mark.parametrize("errcode", [48001, 45009], ids=["not-authorised", "quota"])
async def test_a_send_wechat_refused_fails_at_once_as_before(
    ctx: CampaignContext, fake_wechat: FakeWeChat, errcode: int
) -> None:
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [errcode])
    await advance_mass(ctx, run.id)
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.FAILED and str(errcode) in (send.result or "")
    found = await progress(run.campaign_id)
    assert found.skipped == {"mass_failed": MEMBERS} and found.at_rest()
    await advance_mass(ctx, run.id)  # untags
    assert fake_wechat.tags == {} and fake_wechat.count(SENDALL) == 1


async def test_a_busy_wechat_is_asked_again_and_the_send_fails_only_after_the_last_attempt(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """-1 answers said WeChat did not take it, every time: failed, never unknown."""
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [-1] * (CALLS * MAX_ATTEMPTS))
    await advance_mass(ctx, run.id)
    for _ in range(MAX_ATTEMPTS - 1):
        await next_attempt(ctx, clock, run)
    assert fake_wechat.count(SENDALL) == CALLS * MAX_ATTEMPTS
    assert (await MassSend.get(run_id=run.id)).status is MassStatus.FAILED
    assert (await progress(run.campaign_id)).skipped == {"mass_failed": MEMBERS}


async def test_a_refusal_after_an_unanswered_attempt_leaves_the_outcome_unknown(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """The first attempt may have gone; the refusal speaks for the second only."""
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [DROPPED] * CALLS + [48001])
    await advance_mass(ctx, run.id)
    await next_attempt(ctx, clock, run)
    assert (await MassSend.get(run_id=run.id)).status is MassStatus.UNKNOWN
    found = await progress(run.campaign_id)
    assert found.failed == {"outcome_unknown": MEMBERS} and not found.skipped


async def test_cancelled_between_attempts_the_claimed_send_still_goes_once(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """The first attempt claimed the send before staff cancelled: it won the race, and only
    sending it again says whether it went; its members are not skipped as cancelled."""
    run = await started(ctx, MEMBERS)
    fake_wechat.script(SENDALL, [DROPPED] * CALLS)
    await advance_mass(ctx, run.id)
    campaign = await lifecycle.get(run.campaign_id)
    await lifecycle.move(campaign, Action.CANCEL, clock.now(), STAFF, "wrong picture")
    await waits_to_send_again(run, fake_wechat)

    await next_attempt(ctx, clock, run)
    assert fake_wechat.mass_sends == {f"clubbot-campaign-run-{run.id}"}
    found = await progress(run.campaign_id)
    assert found.sent_by_channel == {"mass": MEMBERS} and not found.skipped
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.CANCELLED
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and send.untagged_at is None  # until its outcome


@pytest.mark.parametrize("how", ["task-died", "unanswered"])
async def test_a_send_made_again_after_a_cancel_waits_for_the_end_of_quiet_hours(
    db: None, fake_wechat: FakeWeChat, clock: FixedClock, store: Redis, how: str
) -> None:
    """Claimed before the cancel at 20:58, WeChat took it but its answer never came back (the
    task died inside the call, or the connection dropped). Sending it again is how the club
    learns whether it went, and like every campaign send it waits for the end of quiet hours
    (21:00-09:00): nothing goes to WeChat in the night, then it goes once, at 09:00."""
    clock.set(datetime(2026, 11, 23, 20, 58, tzinfo=TZ))
    async with aiohttp.ClientSession() as http:
        # A patient client (no retry in the call): the task is killed while WeChat holds it.
        api = make_api(fake_wechat.base_url, http, store, timeout=aiohttp.ClientTimeout(total=10))
        ctx = mass_context(clock, WeChatMassSender(api))
        run = await started(ctx, MEMBERS)
        cid = f"clubbot-campaign-run-{run.id}"
        if how == "task-died":
            fake_wechat.script(SENDALL, [Reply(act=True, delay=5)])
            task = asyncio.create_task(advance_mass(ctx, run.id))
            while not fake_wechat.mass_sends:
                await asyncio.sleep(0.01)
        else:
            fake_wechat.script(SENDALL, [dataclasses.replace(DROPPED, act=True)])
            await advance_mass(ctx, run.id)
        campaign = await lifecycle.get(run.campaign_id)
        await lifecycle.move(campaign, Action.CANCEL, clock.now(), STAFF, "wrong picture")
        if how == "task-died":
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # A process that dies runs no `finally`: its lease is left to run out.
            await MassSend.filter(run_id=run.id).update(beat_at=clock.now())
        assert fake_wechat.count(SENDALL) == 1

        for minutes in range(2, 12 * 60, 30):  # the scheduler's tick all night
            clock.set(datetime(2026, 11, 23, 20, 58, tzinfo=TZ) + timedelta(minutes=minutes))
            for run_id in await mass_needing_work(clock.now()):
                await advance_mass(ctx, run_id)
            assert fake_wechat.count(SENDALL) == 1, clock.now()  # nothing in the night
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=TZ))
        assert await mass_needing_work(clock.now()) == [run.id]
        await advance_mass(ctx, run.id)
    assert fake_wechat.count(SENDALL) == 2 and fake_wechat.mass_sends == {cid}  # 45065: had it
    [_, again] = fake_wechat.calls(SENDALL)
    assert again.body["clientmsgid"] == cid
    found = await progress(run.campaign_id)
    assert found.sent_by_channel == {"mass": MEMBERS} and not found.skipped
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and send.sent_at == clock.now()
