"""A campaign as staff read it: its settings, delivery by reason, runs, history and effect."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from club.campaigns import lifecycle
from club.campaigns.effect import Effect, effect
from club.campaigns.progress import Progress, progress
from club.db.models.campaigns import Campaign, CampaignEvent, CampaignRun, MassSend
from club.rules.programme import Programme


@dataclass
class CampaignView:
    campaign: dict[str, Any]
    progress: Progress | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    events: list[CampaignEvent] = field(default_factory=list)
    effect: Effect | None = None


def settings(campaign: Campaign) -> dict[str, Any]:
    daily = campaign.daily_at
    return {
        "id": campaign.id,
        "name": campaign.name,
        "segment_id": campaign.segment_id,
        "status": campaign.status.value,
        "status_reason": campaign.status_reason,
        "message": campaign.message,
        "bonus_points": campaign.bonus_points,
        "budget_points": campaign.budget_points,
        "points_awarded": campaign.points_awarded,
        "send_at": campaign.send_at,
        "daily_at": None if daily is None else f"{daily // 60:02d}:{daily % 60:02d}",
        "pace": campaign.pace,
        "holdout_percent": lifecycle.holdout_percent(campaign),
        "seed": campaign.seed,
        "effect_days": campaign.effect_days,
        "audience_estimate": campaign.audience_estimate,
        "approved_by": campaign.approved_by,
        "approved_for": campaign.approved_for,
        "created_at": campaign.created_at,
    }


async def campaign_ids() -> list[int]:
    found: list[Any] = await Campaign.all().order_by("-id").values_list("id", flat=True)
    return [int(i) for i in found]


async def campaign_view(
    campaign_id: int, programme: Programme, now: datetime, *, full: bool = True
) -> CampaignView:
    campaign = await lifecycle.get(campaign_id)
    view = CampaignView(settings(campaign))
    if not full:
        return view
    view.effect = await effect(campaign, programme, now)
    view.progress = await progress(campaign.id)
    view.runs = [
        await run_view(run)
        for run in await CampaignRun.filter(campaign_id=campaign.id).order_by("id")
    ]
    view.events = await CampaignEvent.filter(campaign_id=campaign.id).order_by("id")
    return view


async def run_view(run: CampaignRun) -> dict[str, Any]:
    send = await MassSend.get_or_none(run_id=run.id)
    mass = None
    if send is not None:
        mass = {
            "status": send.status.value,
            "result": send.result,
            "members": send.members,
            "total": send.total_count,
            "filtered": send.filter_count,
            "sent": send.sent_count,
            "errors": send.error_count,
        }
    return {
        "id": run.id,
        "day": run.day,
        "status": run.status.value,
        "recipients": run.recipients,
        "held_out": run.held_out,
        "chunks": run.chunks,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "mass": mass,
    }
