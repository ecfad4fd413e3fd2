"""Automations: a campaign that runs every day at its time (`daily_at`) for the members who
entered its segment since its last run, each member at most once per automation (the recipient
rows are unique per campaign, and the audience freeze leaves out members already in them).

Examples: "joined 7 days ago and no purchase yet", "points expiring within 14 days", "tier
upgrade" (a tag or tier rule). Each day's run is a run like a one-off campaign's: the same
channels, pace, holdout (from the automation's one seed) and effect. A run is started once per
day (unique on campaign and day), by the scheduler's tick once the day's time has come and
quiet hours are over, or for a given day by `python -m scheduler run automations`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time

from club.campaigns.context import CampaignContext
from club.campaigns.runs import start_run
from club.db.models.campaigns import Campaign, CampaignRun
from club.rules.campaigns import CampaignStatus


def due_at(campaign: Campaign, day: date, now: datetime) -> datetime:
    minutes = campaign.daily_at or 0
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=now.tzinfo)


async def run_automations(
    ctx: CampaignContext, day: date, now: datetime, *, on_time: bool = True
) -> Counter[str]:
    """Start `day`'s run of every active automation that has none yet. `on_time`: only those
    whose time of day has come (the scheduler); False: all of them now (a run by hand)."""
    counts: Counter[str] = Counter()
    if ctx.rules.quiet.next_allowed(now) != now:
        counts["held_for_quiet_hours"] += 1
        return counts
    active = await Campaign.filter(
        status=CampaignStatus.SCHEDULED, daily_at__isnull=False
    ).order_by("id")
    for campaign in active:
        counts["automations"] += 1
        if on_time and due_at(campaign, day, now) > now:
            counts["not_yet"] += 1
            continue
        if await CampaignRun.exists(campaign_id=campaign.id, day=day):
            counts["ran_already"] += 1
            continue
        run = await start_run(ctx, campaign, day, now)
        if run is not None:
            counts["started"] += 1
            counts["recipients"] += run.recipients
    return +counts
