"""A campaign as staff read it: its settings, delivery by reason, runs, history and effect; and
the list of them all, each with its progress and last runs, in a constant number of queries
(five, however many campaigns and runs there are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from club.campaigns import lifecycle
from club.campaigns.effect import Effect, effect
from club.campaigns.progress import Progress, progress, progress_of
from club.db.models.campaigns import Campaign, CampaignEvent, CampaignRun, MassSend
from club.db.raw import Params, dialect, rows
from club.rules.programme import Programme

LISTED_RUNS = 5
"""Runs a campaign shows in the list: its last ones (an automation has one a day)."""
_LAST_RUNS = """
SELECT id FROM (
  SELECT id, ROW_NUMBER() OVER (PARTITION BY campaign_id ORDER BY id DESC) AS n
  FROM campaign_run WHERE {campaigns}
) x WHERE n <= {most}
"""


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
        "points_reserved": campaign.points_reserved,
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


LIST_PAGE = 50
"""Campaigns a list shows at once: each one's progress counts its recipients, so the list is
paged (a brand running a few campaigns a week has hundreds after a year or two)."""


async def campaign_count() -> int:
    return await Campaign.all().count()


async def campaign_list(*, limit: int = LIST_PAGE, offset: int = 0) -> list[CampaignView]:
    """`limit` campaigns from `offset`, newest first, each with its progress and its last
    `LISTED_RUNS` runs."""
    campaigns = await Campaign.all().order_by("-id").offset(offset).limit(limit)
    ids = [c.id for c in campaigns]
    progress_by = await progress_of(ids)
    runs = await _last_runs(ids)
    runs_by: dict[int, list[dict[str, Any]]] = {}
    for run, shown in zip(runs, await run_views(runs), strict=True):
        runs_by.setdefault(run.campaign_id, []).append(shown)
    return [CampaignView(settings(c), progress_by[c.id], runs_by.get(c.id, [])) for c in campaigns]


async def _last_runs(campaign_ids: list[int]) -> list[CampaignRun]:
    """The campaigns' last `LISTED_RUNS` runs each, oldest first."""
    if not campaign_ids:
        return []
    p = Params(dialect())
    wanted = p.one_of("campaign_id", campaign_ids, "bigint")
    last = [
        int(r["id"])
        for r in await rows(_LAST_RUNS.format(campaigns=wanted, most=LISTED_RUNS), p.values)
    ]
    return await CampaignRun.filter(id__in=last).order_by("id") if last else []


async def campaign_view(campaign_id: int, programme: Programme, now: datetime) -> CampaignView:
    campaign = await lifecycle.get(campaign_id)
    view = CampaignView(settings(campaign))
    view.effect = await effect(campaign, programme, now)
    view.progress = await progress(campaign.id)
    view.runs = await run_views(await CampaignRun.filter(campaign_id=campaign.id).order_by("id"))
    view.events = await CampaignEvent.filter(campaign_id=campaign.id).order_by("id")
    return view


async def run_views(runs: list[CampaignRun]) -> list[dict[str, Any]]:
    """The runs as staff read them, their mass sends read at once."""
    sends = await MassSend.filter(run_id__in=[r.id for r in runs]) if runs else []
    send_of = {s.run_id: s for s in sends}
    return [_run_view(run, send_of.get(run.id)) for run in runs]


def _run_view(run: CampaignRun, send: MassSend | None) -> dict[str, Any]:
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
