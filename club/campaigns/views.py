"""A campaign as staff read it: its settings, delivery by reason, runs, history and effect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from club.campaigns import lifecycle
from club.campaigns.progress import Progress, progress
from club.db.models.campaigns import Campaign, CampaignEvent, CampaignRun


@dataclass
class CampaignView:
    campaign: dict[str, Any]
    progress: Progress | None = None
    runs: list[CampaignRun] = field(default_factory=list)
    events: list[CampaignEvent] = field(default_factory=list)
    effect: dict[str, Any] | None = None


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


async def campaign_view(campaign_id: int, *, full: bool = True) -> CampaignView:
    campaign = await lifecycle.get(campaign_id)
    view = CampaignView(settings(campaign))
    if not full:
        return view
    view.progress = await progress(campaign.id)
    view.runs = await CampaignRun.filter(campaign_id=campaign.id).order_by("id")
    view.events = await CampaignEvent.filter(campaign_id=campaign.id).order_by("id")
    return view
