"""A campaign's lifecycle driven as the scheduler and the workers drive it: paused mid-chunk and
resumed, cancelled, and the quiet hours; each member messaged once, every change recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.wechat.sender import DryRunMassSender, DryRunSender
from club.campaigns import audience, lifecycle, runs, tick
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.campaigns.progress import progress
from club.clock import FixedClock
from club.db.models.campaigns import CampaignChunk, CampaignEvent, CampaignRun
from club.db.models.outbox import OutboxMessage
from club.db.models.staff import StaffRole
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Unpaced
from club.messaging.plan import delivery_rules
from club.programme.demo import demo_programme
from club.rules.campaigns import Action, CampaignStatus, RunStatus
from club.staff.accounts import StaffIdentity
from tests.club.campaign_support import everyone_segment, member

TZ = ZoneInfo("Asia/Shanghai")
STAFF = StaffIdentity(1, "marketer-1", StaffRole.MARKETER)


class Kicks:
    """The queue: records the chunks handed to it (the test plays the worker)."""

    def __init__(self) -> None:
        self.kicked: list[tuple[int, int]] = []
        self.mass_kicked: list[int] = []

    async def chunks(self, run_id: int, numbers: Sequence[int]) -> None:
        self.kicked += [(run_id, n) for n in numbers]

    async def mass(self, run_id: int) -> None:
        self.mass_kicked.append(run_id)


class PausingPacer:
    """Lets messages through and pauses the campaign when the `after`-th batch reserves its
    slots (staff pressing pause while it sends)."""

    def __init__(self, campaign_id: int, after: int, clock: FixedClock) -> None:
        self.campaign_id, self.after, self.clock, self.seen = campaign_id, after, clock, 0

    async def wait(self, key: str, per_second: float) -> None:
        await self.slots(key, per_second, 1)

    async def slots(self, key: str, per_second: float, count: int) -> list[float]:
        self.seen += 1
        if self.seen == self.after:
            campaign = await lifecycle.get(self.campaign_id)
            await lifecycle.move(campaign, Action.PAUSE, self.clock.now(), STAFF, "hold on")
        return [0.0] * count


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))


@pytest.fixture
def ctx(db: None, clock: FixedClock) -> CampaignContext:
    programme = demo_programme()
    delivery = Delivery(DryRunSender(), delivery_rules(programme), clock)
    return CampaignContext(
        programme, clock, Outbox(programme), delivery, Unpaced(), DryRunMassSender(), Kicks()
    )


async def a_campaign(ctx: CampaignContext, members: int) -> int:
    now = ctx.clock.now()
    for i in range(members):
        await member(f"o-life-{i:03d}", now, window=True)
    segment = await everyone_segment(now)
    spec = lifecycle.Spec("周末", segment.id, msg.CampaignMessage("周末品鉴"))
    campaign = await lifecycle.create(spec, programme=ctx.programme, now=now, staff=STAFF)
    await lifecycle.schedule(
        campaign.id, send_at=None, programme=ctx.programme, now=now, staff=STAFF
    )
    return campaign.id


async def test_paused_mid_chunk_and_resumed_each_member_once(
    ctx: CampaignContext, clock: FixedClock
) -> None:
    cid = await a_campaign(ctx, 120)
    ctx.pacer = PausingPacer(cid, 1, clock)
    assert (await tick.tick(ctx, clock.now()))["started"] == 1
    kicks = ctx.feed
    assert isinstance(kicks, Kicks)
    [(run_id, number)] = kicks.kicked
    assert number == 0
    await run_chunk(ctx, run_id, 0)
    # Paused while the first batch sends: its 50 rows are written, its first sends went, the
    # rest wait and no other batch starts.
    assert await OutboxMessage.filter(kind="campaign").count() == 50
    assert await OutboxMessage.filter(kind="campaign", status="queued").count() > 0
    assert (await lifecycle.get(cid)).status is CampaignStatus.PAUSED
    clock.advance(timedelta(minutes=5))
    assert not (await tick.tick(ctx, clock.now()))  # nothing handed on while paused
    campaign = await lifecycle.move(await lifecycle.get(cid), Action.RESUME, clock.now(), STAFF)
    assert campaign.status is CampaignStatus.SENDING
    assert (await tick.tick(ctx, clock.now()))["chunks_handed_on"] == 1
    await run_chunk(ctx, run_id, 0)
    await run_chunk(ctx, run_id, 0)  # the same chunk delivered twice
    assert (await tick.tick(ctx, clock.now()))["runs_finished"] == 1
    rows = await OutboxMessage.filter(kind="campaign").values_list("member_id", flat=True)
    assert len(rows) == len(set(rows)) == 120
    found = await progress(cid)
    assert found.sent == 120 and found.adds_up()
    steps = (
        await CampaignEvent.filter(campaign_id=cid)
        .order_by("id")
        .values_list("to_status", "actor_name")
    )
    assert steps == [
        ("draft", "marketer-1"),
        ("scheduled", "marketer-1"),
        ("sending", None),
        ("paused", "marketer-1"),
        ("sending", "marketer-1"),
        ("done", None),
    ]


async def test_a_cancelled_campaign_sends_nothing_more(
    ctx: CampaignContext, clock: FixedClock
) -> None:
    cid = await a_campaign(ctx, 60)
    await tick.tick(ctx, clock.now())
    run = await CampaignRun.get(campaign_id=cid)
    await lifecycle.move(await lifecycle.get(cid), Action.CANCEL, clock.now(), STAFF, "wrong text")
    counts = await run_chunk(ctx, run.id, 0)
    assert counts["run_not_sending"] == 1
    assert not await OutboxMessage.exists()
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.CANCELLED
    with pytest.raises(Exception, match="cannot be resumed"):
        await lifecycle.move(await lifecycle.get(cid), Action.RESUME, clock.now(), STAFF)


async def test_quiet_hours_hold_the_start_and_the_chunks(
    ctx: CampaignContext, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 23, 20, 59, 30, tzinfo=TZ))
    cid = await a_campaign(ctx, 60)
    await tick.tick(ctx, clock.now())
    run = await CampaignRun.get(campaign_id=cid)
    clock.advance(timedelta(minutes=1))  # 21:00:30: quiet
    assert (await run_chunk(ctx, run.id, 0))["held_for_quiet_hours"] == 1
    assert not await OutboxMessage.exists()
    assert not await tick.tick(ctx, clock.now())
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=TZ))
    assert (await tick.tick(ctx, clock.now()))["chunks_handed_on"] == 1
    await run_chunk(ctx, run.id, 0)
    assert await OutboxMessage.filter(kind="campaign", status="sent").count() == 60


async def test_a_finished_runs_counts_are_stored_once_at_rest_and_read_from_there(
    ctx: CampaignContext, clock: FixedClock
) -> None:
    """A paused run is counted live; a finished run with a message still in flight too; once
    every recipient is at rest the run's counts are stored, and later reads give the same
    counts without counting its recipients again."""
    cid = await a_campaign(ctx, 60)
    ctx.pacer = PausingPacer(cid, 2, clock)
    await tick.tick(ctx, clock.now())
    [run] = await CampaignRun.filter(campaign_id=cid)
    await run_chunk(ctx, run.id, 0)
    paused = await progress(cid)
    assert paused.pending + paused.queued > 0 and paused.adds_up()
    assert (await CampaignRun.get(id=run.id)).progress is None  # still moving
    await lifecycle.move(await lifecycle.get(cid), Action.RESUME, clock.now(), STAFF)
    await tick.tick(ctx, clock.now())
    await run_chunk(ctx, run.id, 0)
    assert (await tick.tick(ctx, clock.now()))["runs_finished"] == 1
    # A finished run whose message is still on its way (the guard: a run finishes only when
    # its rows are sent, but a row may be queued again for a retry) is counted live.
    stuck = await OutboxMessage.filter(kind="campaign").order_by("id").first()
    assert stuck is not None
    await OutboxMessage.filter(id=stuck.id).update(status="queued")
    moving = await progress(cid)
    assert (moving.sent, moving.queued) == (59, 1)
    assert (await CampaignRun.get(id=run.id)).progress is None
    await OutboxMessage.filter(id=stuck.id).update(status="sent")  # settled by the sweep
    settled = await progress(cid)
    assert (settled.sent, settled.queued, settled.recipients) == (60, 0, 60)
    stored = (await CampaignRun.get(id=run.id)).progress
    assert stored is not None and stored["sent"] == 60
    # Read from the run from now on: a later change to its rows is not counted again.
    await OutboxMessage.filter(kind="campaign").update(status="failed", outcome="test")
    assert await progress(cid) == settled


async def four_chunks_at_one_a_second(ctx: CampaignContext, now: datetime) -> CampaignRun:
    """A campaign of 200 members paced at one message a second, started (chunks of 50)."""
    for i in range(200):
        await member(f"o-slow-{i:03d}", now, window=True)
    segment = await everyone_segment(now)
    spec = lifecycle.Spec("慢速", segment.id, msg.CampaignMessage("品鉴"), pace=1)
    campaign = await lifecycle.create(spec, programme=ctx.programme, now=now, staff=STAFF)
    await lifecycle.schedule(
        campaign.id, send_at=None, programme=ctx.programme, now=now, staff=STAFF
    )
    assert (await tick.tick(ctx, now))["started"] == 1
    return await CampaignRun.get(campaign_id=campaign.id)


async def test_chunks_sharing_a_slow_pace_are_not_handed_on_while_their_workers_live(
    ctx: CampaignContext, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four chunks worked at once share a pace of one message a second: each worker's batch of
    50 gets every fourth slot, so it beats once in 200 s. Handed on after three of a lone
    batch's times (150 s), a live worker's chunk got a second worker; it is handed on only
    after three batches' time of all the chunks being worked."""
    monkeypatch.setattr(audience, "CHUNK", 50)
    now = clock.now()
    run = await four_chunks_at_one_a_second(ctx, now)
    assert run.chunks == 4
    await CampaignChunk.filter(run_id=run.id).update(beat_at=now)  # four workers at work
    clock.advance(timedelta(seconds=160))
    assert (await tick.tick(ctx, clock.now())).get("chunks_handed_on", 0) == 0
    clock.advance(timedelta(seconds=600))  # 760 s without a beat: 3 x 4 x 50 s passed
    assert (await tick.tick(ctx, clock.now()))["chunks_handed_on"] == 4


async def test_a_dead_workers_chunk_does_not_slow_the_notice_of_its_death(
    ctx: CampaignContext, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four chunks at one message a second; three workers die as they begin, one lives and
    beats as each of its batches begins (alone on the pace now: every 50 s). The dead ones'
    beats stop, so they no longer count as chunks being worked: they are handed on once three
    beats of the live worker have gone by in a silence of theirs longer than six of its batch
    times (300 s) and they are past its staleness (150 s), not after three batches' time of
    four chunks (600 s); the live one is left to its worker."""
    monkeypatch.setattr(audience, "CHUNK", 50)
    now = clock.now()
    run = await four_chunks_at_one_a_second(ctx, now)
    kicks = ctx.feed
    assert isinstance(kicks, Kicks)
    kicks.kicked.clear()
    await CampaignChunk.filter(run_id=run.id).update(beat_at=now)  # four workers begin
    for _ in range(7):  # the live one's batches
        clock.advance(timedelta(seconds=50))
        await CampaignChunk.filter(run_id=run.id, number=0).update(beat_at=clock.now())
        if clock.now() - now <= timedelta(seconds=300):
            assert (await tick.tick(ctx, clock.now())).get("chunks_handed_on", 0) == 0
    clock.advance(timedelta(seconds=10))  # 360 s since the others' last beat
    assert (await tick.tick(ctx, clock.now()))["chunks_handed_on"] == 3
    assert kicks.kicked == [(run.id, 1), (run.id, 2), (run.id, 3)]


T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("beats_s", "working"),
    [
        ((), 0),
        ((0,), 1),
        ((0, 0, 0, 0), 4),  # begun together
        ((0, 50, 100, 150), 4),  # one after another, a batch's time apart
        ((0, 0, 0, 350), 1),  # three died, one beats on
        ((0, 0, 300, 350), 4),  # a silence of 300 s: no more than the limit
        ((0, 10, 400, 450), 2),
    ],
)
def test_chunks_being_worked_are_those_beating_without_a_long_silence_between(
    beats_s: tuple[int, ...], working: int
) -> None:
    beats = [T0 + timedelta(seconds=s) for s in beats_s]
    assert runs.being_worked(beats, timedelta(seconds=300)) == working
