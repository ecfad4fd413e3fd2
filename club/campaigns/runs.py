"""Runs: starting a campaign's sending, handing its chunks to the workers, noticing a chunk whose
worker died, and finishing. The scheduler calls `tick` every half-minute (any number of
schedulers: every step is a conditional update or idempotent).

- Starting: a scheduled one-off campaign whose time has come (never in quiet hours: it starts
  when they end) becomes `sending` and its audience is frozen, in one transaction. If the frozen
  audience is larger than the programme's threshold and no admin approved that many, the
  transaction is rolled back and the campaign paused with the reason.
- Chunks are kicked once when the run starts; a chunk not done whose worker has given no sign of
  life for a while (`stale_after`) is kicked again: a second task on a chunk only shares it.
- A run is done when no recipient is pending, the mass send (if any) is over, none of its
  outbox rows is still queued or being sent, and no bonus is still reserved (each credited or
  given back: `club.campaigns.bonus`); a one-off campaign is then `done`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from club.campaigns import lifecycle, mass
from club.campaigns.audience import add_chunks, chunks_for, freeze
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import BATCH
from club.campaigns.watch import may_send
from club.db import tx
from club.db.models.campaigns import (
    Campaign,
    CampaignChunk,
    CampaignRecipient,
    CampaignRun,
    MassSend,
)
from club.db.raw import rows
from club.rules.campaigns import Action, CampaignStatus, RecipientState, RunStatus

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=60)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


async def start_run(
    ctx: CampaignContext, campaign: Campaign, day: date, now: datetime
) -> CampaignRun | None:
    """Freeze the audience and mark the campaign sending; None if another process did."""
    recurring = campaign.daily_at is not None
    programme = ctx.programme
    try:
        async with tx.transaction() as conn:
            if not recurring:
                started = (
                    await Campaign.filter(id=campaign.id, status=CampaignStatus.SCHEDULED)
                    .using_db(conn)
                    .update(status=CampaignStatus.SENDING, status_reason=None, updated_at=now)
                )
                if not started:
                    return None
            try:
                run = await CampaignRun.create(
                    using_db=conn, campaign_id=campaign.id, day=day, started_at=now
                )
            except IntegrityError:
                return None  # today's run exists (another scheduler, or ran already)
            recipients, held = await freeze(campaign, run.id, programme, now, conn)
            threshold = programme.campaigns.approval_threshold
            if recipients > threshold and (
                campaign.approved_for is None or recipients > campaign.approved_for
            ):
                raise _TooLarge(recipients)
            chunks = chunks_for(recipients)
            await (
                CampaignRun.filter(id=run.id)
                .using_db(conn)
                .update(recipients=recipients, held_out=held, chunks=chunks)
            )
            await add_chunks(run.id, chunks, conn)
            if not recurring:
                await lifecycle.record_event(
                    campaign.id,
                    CampaignStatus.SCHEDULED,
                    CampaignStatus.SENDING,
                    now,
                    None,
                    f"{recipients} recipients frozen, {held} held out",
                )
    except _TooLarge as exc:
        fresh = await lifecycle.get(campaign.id)
        await lifecycle.move(
            fresh,
            Action.PAUSE,
            now,
            None,
            f"needs an admin's approval: {exc.size} members, more than the programme's "
            f"threshold ({programme.campaigns.approval_threshold}) or than approved",
        )
        return None
    log.info("campaign %s run %s started", campaign.id, run.id)
    fresh_run = await CampaignRun.get(id=run.id)
    await kick(ctx, fresh_run.id, list(range(fresh_run.chunks)), now)
    return fresh_run


async def kick(ctx: CampaignContext, run_id: int, numbers: list[int], now: datetime) -> None:
    if not numbers or ctx.feed is None:
        return
    await CampaignChunk.filter(run_id=run_id, number__in=numbers).update(kicked_at=now)
    await ctx.feed.chunks(run_id, numbers)


async def start_due(ctx: CampaignContext, now: datetime) -> int:
    """Start the one-off campaigns whose time has come (not in quiet hours)."""
    if ctx.rules.quiet.next_allowed(now) != now:
        return 0
    due = await Campaign.filter(
        Q(send_at__isnull=True) | Q(send_at__lte=now),
        status=CampaignStatus.SCHEDULED,
        daily_at__isnull=True,
    ).order_by("id")
    started = 0
    for campaign in due:
        if await start_run(ctx, campaign, now.date(), now) is not None:
            started += 1
    return started


def stale_after(
    campaign: Campaign, ctx: CampaignContext, least: timedelta = STALE_AFTER, *, sharing: int = 1
) -> timedelta:
    """How long a chunk may show no sign of life (its worker beats as each batch begins): a
    batch's time three times over, and at least a minute. The workers of the `sharing` chunks
    being worked share the campaign's pace, each batch's slots after the others', so a batch
    takes `sharing` times what it would alone (four chunks at one message a second: 200 s)."""
    rate = campaign.pace or ctx.programme.campaigns.max_per_second
    return max(least, timedelta(seconds=3 * BATCH * max(1, sharing) / rate))


def being_worked(beats: Sequence[datetime], silence: timedelta) -> int:
    """How many of the chunks that beat at `beats` are being worked, for their staleness: the
    chunk that beat last, and each that beat less than `silence` before the next one. Workers
    sharing the pace beat one after another, about a lone batch's time apart, so a long silence
    in the middle of the beats marks the workers that died before it: their chunks no longer
    count (each made the others' staleness three batches' time longer, and so the notice of
    its own death). The silence is two lone chunks' staleness (six batches' time): a live
    worker's beats are further apart only behind the slots of five workers that died together,
    each batch's slots wasted once (a chunk wrongly handed on then is shared, not sent twice)."""
    newest_first = sorted(beats, reverse=True)
    working = min(1, len(newest_first))
    for newer, older in itertools.pairwise(newest_first):
        if newer - older > silence:
            break
        working += 1
    return working


async def rekick_stale(ctx: CampaignContext, now: datetime, least: timedelta = STALE_AFTER) -> int:
    """Hand on again the chunks of sending runs that nobody is working on: a chunk a worker
    started and stopped beating on (the worker died, or stopped for quiet hours or a pause);
    and, when nobody works on the run at all, the chunks never started (their tasks were lost,
    or taken while the campaign was paused). Chunks merely waiting in a busy queue are left."""
    if ctx.rules.quiet.next_allowed(now) != now:
        return 0
    kicked = 0
    for run in await CampaignRun.filter(status=RunStatus.SENDING):
        campaign = await Campaign.get(id=run.campaign_id)
        if not may_send(campaign):
            continue
        open_chunks = CampaignChunk.filter(run_id=run.id, done_at__isnull=True)
        beats: list[Any] = await open_chunks.filter(beat_at__isnull=False).values_list(
            "beat_at", flat=True
        )
        working = being_worked(beats, stale_after(campaign, ctx, least, sharing=2))
        before = now - stale_after(campaign, ctx, least, sharing=working)
        stopped = Q(beat_at__lt=before)
        if not await open_chunks.filter(beat_at__gte=before).exists():
            stopped |= Q(beat_at__isnull=True) & (
                Q(kicked_at__isnull=True) | Q(kicked_at__lt=before)
            )
        numbers: list[Any] = await open_chunks.filter(stopped).values_list("number", flat=True)
        wanted = sorted(int(n) for n in numbers)
        if wanted:
            log.info(
                "campaign %s run %s: %d chunk(s) handed on again", campaign.id, run.id, len(wanted)
            )
            await kick(ctx, run.id, wanted, now)
            kicked += len(wanted)
    return kicked


_OPEN_ROWS = """
SELECT 1 FROM campaign_recipient r JOIN outbox_message o ON o.id = r.outbox_id
WHERE r.run_id = $1 AND o.status IN ('queued', 'sending') LIMIT 1
"""


async def finish_runs(ctx: CampaignContext, now: datetime) -> int:
    """Close the runs that have nothing left to do; a run whose chunks are all done and that has
    members for the mass send moves on to it (`club.campaigns.mass`)."""
    finished = 0
    for run in await CampaignRun.filter(status=RunStatus.SENDING):
        if await CampaignRecipient.exists(run_id=run.id, state=RecipientState.PENDING):
            continue
        if await CampaignChunk.exists(run_id=run.id, done_at__isnull=True):
            continue  # a chunk's last messages may still turn to the mass send (45009)
        if await CampaignRecipient.exists(run_id=run.id, state=RecipientState.MASS):
            await CampaignRun.filter(id=run.id, status=RunStatus.SENDING).update(
                status=RunStatus.MASS
            )
            continue
        if await rows(_OPEN_ROWS, [run.id]) or await _bonus_reserved(run.id):
            continue
        if await close_run(run, now):
            finished += 1
    for run in await CampaignRun.filter(status=RunStatus.MASS):
        if not mass.over(await MassSend.get_or_none(run_id=run.id)):
            continue
        if not await _bonus_reserved(run.id) and await close_run(run, now):
            finished += 1
    return finished


async def _bonus_reserved(run_id: int) -> bool:
    """A bonus of the run is still to be credited or given back (`club.campaigns.bonus`: the
    tick settles it before it closes runs): its figures are not final yet."""
    return await CampaignRecipient.exists(run_id=run_id, bonus_reserved__gt=0)


async def hand_on_mass(ctx: CampaignContext, now: datetime) -> int:
    """Hand the mass sends that need a worker to the queue."""
    if ctx.feed is None:
        return 0
    wanted = await mass.needing_work(now)
    for run_id in wanted:
        await ctx.feed.mass(run_id)
    return len(wanted)


async def close_run(run: CampaignRun, now: datetime) -> bool:
    closed = await CampaignRun.filter(
        id=run.id, status__in=[RunStatus.SENDING, RunStatus.MASS]
    ).update(status=RunStatus.DONE, finished_at=now)
    if not closed:
        return False
    campaign = await Campaign.get(id=run.campaign_id)
    if campaign.daily_at is None and campaign.status is CampaignStatus.SENDING:
        await lifecycle.move(campaign, Action.FINISH, now, None, "every recipient handled")
    return True
