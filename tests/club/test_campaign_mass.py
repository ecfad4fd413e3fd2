"""The mass send by tag at the service level: members already sent this month's mass messages
are left out and counted; tagging resumes after a failure; a refused send leaves nobody tagged."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.wechat.sender import DryRunSender
from club.campaigns import lifecycle, tick
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.campaigns.mass import needing_work as mass_needing_work
from club.campaigns.progress import progress
from club.clock import FixedClock
from club.db.models.campaigns import (
    Campaign,
    CampaignRecipient,
    CampaignRun,
    MassSend,
)
from club.db.models.staff import StaffRole
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Unpaced
from club.messaging.plan import delivery_rules
from club.messaging.sending import Failure, MassReceipt, MassSender, SendFailed
from club.programme.demo import demo_programme
from club.rules.campaigns import Action, MassStatus, RecipientState, RunStatus
from club.staff.accounts import StaffIdentity
from tests.club.campaign_support import everyone_segment, member

TZ = ZoneInfo("Asia/Shanghai")
STAFF = StaffIdentity(1, "marketer-1", StaffRole.MARKETER)


class RecordingMass:
    """A mass sender that records each call; `fail_tagging` refuses the n-th tagging call."""

    def __init__(self) -> None:
        self.tagged: dict[int, set[str]] = {}
        self.calls: list[str] = []
        self.sent: list[tuple[int, str, str]] = []
        self.fail_tagging: int | None = None
        self.refuse_send = False
        self.while_sending: Callable[[], Awaitable[None]] | None = None
        """Run during the send call (staff acting while WeChat takes it)."""

    async def create_tag(self, name: str) -> int:
        self.calls.append(f"create {name}")
        return 7

    async def tag(self, tag_id: int, openids: Sequence[str]) -> None:
        self.calls.append(f"tag {len(openids)}")
        if self.fail_tagging is not None and len(self.calls) - 1 == self.fail_tagging:
            self.fail_tagging = None
            raise SendFailed(Failure.NOT_SENT, "-1 system busy")
        self.tagged.setdefault(tag_id, set()).update(openids)

    async def untag(self, tag_id: int, openids: Sequence[str]) -> None:
        self.calls.append(f"untag {len(openids)}")
        self.tagged[tag_id].difference_update(openids)

    async def delete_tag(self, tag_id: int) -> None:
        self.calls.append("delete")

    async def send_to_tag(self, tag_id: int, text: str, *, clientmsgid: str) -> MassReceipt:
        if self.refuse_send:
            raise SendFailed(Failure.REJECTED, "48001 api unauthorized")
        if self.while_sending is not None:
            await self.while_sending()
        if any(cid == clientmsgid for _, _, cid in self.sent):
            return MassReceipt(duplicate=True)  # 45065: it went before, nothing new goes
        self.sent.append((tag_id, text, clientmsgid))
        return MassReceipt(msg_id=1000 + len(self.sent))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))


@pytest.fixture
def mass() -> RecordingMass:
    return RecordingMass()


@pytest.fixture
def ctx(db: None, clock: FixedClock, mass: RecordingMass) -> CampaignContext:
    return mass_context(clock, mass)


def mass_context(clock: FixedClock, mass: MassSender) -> CampaignContext:
    """No template quota left: everyone outside the window goes by the mass send."""
    demo = demo_programme()
    programme = dataclasses.replace(
        demo, campaigns=dataclasses.replace(demo.campaigns, template_daily_quota=0)
    )
    delivery = Delivery(DryRunSender(), delivery_rules(programme), clock)
    return CampaignContext(programme, clock, Outbox(programme), delivery, Unpaced(), mass)


async def sent_four_mass_messages(member_id: int, openid: str, clock: FixedClock) -> None:
    """Four earlier campaigns this month reached the member by mass send."""
    segment = await everyone_segment(clock.now(), name="earlier")
    for n in range(4):
        campaign = await Campaign.create(
            name=f"earlier {n}", segment=segment, message={"text": "x"}, seed=1,
            created_at=clock.now(), updated_at=clock.now(),
        )  # fmt: skip
        run = await CampaignRun.create(
            campaign=campaign, day=clock.now().date(), started_at=clock.now()
        )
        await MassSend.create(
            run=run, clientmsgid=f"earlier-{n}", status=MassStatus.FINISHED,
            sent_at=clock.now() - timedelta(days=n + 1),
        )  # fmt: skip
        await CampaignRecipient.create(
            campaign=campaign, run=run, member_id=member_id, openid=openid, chunk=0,
            state=RecipientState.MASS_SENT,
        )  # fmt: skip


async def scheduled(
    ctx: CampaignContext, members: int, *, window: bool = False, **spec: Any
) -> CampaignRun:
    """`members` members (`o-m-000`, ...; in their window or not) and a campaign to them all
    (`spec`: its settings), started by the scheduler: its run, no chunk run yet."""
    now = ctx.clock.now()
    for i in range(members):
        await member(f"o-m-{i:03d}", now, window=window)
    segment = await everyone_segment(now, name="all")
    settings = lifecycle.Spec("冬至", segment.id, msg.CampaignMessage("冬至品鉴"), **spec)
    campaign = await lifecycle.create(settings, programme=ctx.programme, now=now, staff=STAFF)
    await lifecycle.schedule(
        campaign.id, send_at=None, programme=ctx.programme, now=now, staff=STAFF
    )
    await tick.tick(ctx, now)
    return await CampaignRun.get(campaign_id=campaign.id)


async def started(ctx: CampaignContext, members: int, **spec: Any) -> CampaignRun:
    """`scheduled`, its chunks run once, and the scheduler's next step (-> the mass send)."""
    run = await scheduled(ctx, members, **spec)
    for number in range(run.chunks):
        await run_chunk(ctx, run.id, number)
    await tick.tick(ctx, ctx.clock.now())  # -> mass
    return await CampaignRun.get(id=run.id)


async def test_members_at_the_monthly_limit_are_left_out_and_counted(
    ctx: CampaignContext, clock: FixedClock, mass: RecordingMass
) -> None:
    first = await member("o-limited", clock.now())
    await sent_four_mass_messages(first.id, first.openid, clock)
    run = await started(ctx, 3)
    assert run.status is RunStatus.MASS
    counts = await advance_mass(ctx, run.id)
    assert counts["mass_limit"] == 1 and counts["tagged"] == 3
    assert mass.sent == [(7, "冬至品鉴", f"clubbot-campaign-run-{run.id}")]
    assert "o-limited" not in mass.tagged[7]
    found = await progress(run.campaign_id)
    assert found.skipped == {"mass_limit": 1} and found.sent_by_channel == {"mass": 3}


async def test_tagging_resumes_after_a_failed_call_and_sends_once(
    ctx: CampaignContext, mass: RecordingMass
) -> None:
    mass.fail_tagging = 2  # the second tagging call (after create)
    run = await started(ctx, 520)  # 11 calls: a round of 8, then 3
    counts = await advance_mass(ctx, run.id)
    assert counts["tag_calls_failed"] == 1 and counts["tagged"] == 0 and not mass.sent
    counts = await advance_mass(ctx, run.id)  # the round again (tagging twice is harmless)
    assert counts["tagged"] == 520
    assert mass.tagged[7] == {f"o-m-{i:03d}" for i in range(520)}
    assert len(mass.sent) == 1


async def test_a_refused_mass_send_leaves_nobody_tagged_and_says_why(
    ctx: CampaignContext, mass: RecordingMass, clock: FixedClock
) -> None:
    mass.refuse_send = True
    run = await started(ctx, 60)
    await advance_mass(ctx, run.id)
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.FAILED and "48001" in (send.result or "")
    await advance_mass(ctx, run.id)  # untags
    assert mass.tagged[7] == set() and mass.calls[-1] == "delete"
    await tick.tick(ctx, clock.now())
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.DONE
    found = await progress(run.campaign_id)
    assert found.skipped == {"mass_failed": 60} and found.adds_up()


async def test_cancelled_while_the_send_is_being_made_it_goes_and_is_recorded(
    ctx: CampaignContext, mass: RecordingMass, clock: FixedClock
) -> None:
    """The send claimed the mass send before staff cancelled: the message goes (WeChat has it),
    its members are recorded as sent by it, not as cancelled, and the tag goes after WeChat's
    outcome."""
    run = await started(ctx, 60)

    async def cancel() -> None:
        campaign = await lifecycle.get(run.campaign_id)
        await lifecycle.move(campaign, Action.CANCEL, clock.now(), STAFF, "wrong picture")

    mass.while_sending = cancel
    await advance_mass(ctx, run.id)
    assert len(mass.sent) == 1
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.CANCELLED
    found = await progress(run.campaign_id)
    assert found.sent_by_channel == {"mass": 60} and not found.skipped
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and send.untagged_at is None
    clock.advance(timedelta(days=1))  # no outcome from WeChat: untagged a day later
    assert await mass_needing_work(clock.now()) == [run.id]
    await advance_mass(ctx, run.id)
    assert mass.tagged[7] == set() and mass.calls[-1] == "delete"
    assert await mass_needing_work(clock.now()) == []


class Died(Exception):
    """The task's process died inside the WeChat call (raised from within it)."""


@pytest.mark.parametrize("wechat_had_it", [True, False])
async def test_a_send_claimed_before_the_cancel_whose_task_died_is_resolved_once(
    ctx: CampaignContext, mass: RecordingMass, clock: FixedClock, wechat_had_it: bool
) -> None:
    """The send claimed the mass send, staff cancelled and the task died inside the WeChat
    call, not knowing whether the message went. The send had won the race, so the next task
    sends it again under the same clientmsgid: WeChat takes it once (45065 when it had it)
    and its members are recorded as sent by it, never left waiting for it; the tag goes after
    WeChat's outcome as for any send."""
    run = await started(ctx, 60)

    async def cancel_and_die() -> None:
        campaign = await lifecycle.get(run.campaign_id)
        await lifecycle.move(campaign, Action.CANCEL, clock.now(), STAFF, "wrong picture")
        mass.while_sending = None
        if wechat_had_it:
            mass.sent.append((7, "冬至品鉴", f"clubbot-campaign-run-{run.id}"))
        raise Died

    mass.while_sending = cancel_and_die
    with pytest.raises(Died):
        await advance_mass(ctx, run.id)
    await MassSend.filter(run_id=run.id).update(beat_at=clock.now())  # the dead task's lease
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.CANCELLED
    assert await mass_needing_work(clock.now()) == []  # its lease still runs
    clock.advance(timedelta(minutes=2))
    assert await mass_needing_work(clock.now()) == [run.id]
    await advance_mass(ctx, run.id)
    assert [cid for _, _, cid in mass.sent] == [f"clubbot-campaign-run-{run.id}"]
    found = await progress(run.campaign_id)
    assert found.sent_by_channel == {"mass": 60} and found.mass_waiting == 0
    assert found.at_rest() and found.adds_up()
    send = await MassSend.get(run_id=run.id)
    assert send.status is MassStatus.SENT and send.untagged_at is None
    assert await mass_needing_work(clock.now()) == []
    clock.advance(timedelta(days=1))  # no outcome from WeChat: untagged a day later
    assert await mass_needing_work(clock.now()) == [run.id]
    await advance_mass(ctx, run.id)
    assert mass.tagged[7] == set() and mass.calls[-1] == "delete"
