"""The scheduler's step for campaigns, every half-minute (any number of schedulers: each part is
a conditional update or idempotent): start what is due, hand on what stalled, take back what a
cancelled campaign has waiting again (`club.campaigns.unsent.withdraw_leftovers`), settle the
bonus points whose message came to rest (what a worker that died left), close what is finished,
move mass sends along."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from club.campaigns import bonus, unsent
from club.campaigns.automations import run_automations
from club.campaigns.context import CampaignContext
from club.campaigns.runs import STALE_AFTER, finish_runs, hand_on_mass, rekick_stale, start_due


async def tick(ctx: CampaignContext, now: datetime, stale: timedelta = STALE_AFTER) -> Counter[str]:
    """One step of the scheduler's loop. `stale`: how long a chunk may show no sign of life
    before it is handed on again (at least; slow paces allow more)."""
    counts: Counter[str] = Counter()
    counts["started"] += await start_due(ctx, now)
    counts["automations_started"] += (await run_automations(ctx, now.date(), now))["started"]
    counts["chunks_handed_on"] += await rekick_stale(ctx, now, stale)
    counts["skipped_after_cancel"] += await unsent.withdraw_leftovers(now)
    settled = await bonus.settle_due(ctx.programme.expiry, now)
    counts["bonus_points_kept"] += settled.kept
    counts["bonus_points_released"] += settled.released
    counts["runs_finished"] += await finish_runs(ctx, now)
    counts["mass_sends_handed_on"] += await hand_on_mass(ctx, now)
    return +counts
