"""Creating a campaign and moving it through its lifecycle, every change recorded.

Statuses and which action allows what are the pure rules of `club.rules.campaigns`. Each change
is one conditional update (`status = <the status it was read in>`), so two staff members or a
staff member and the scheduler acting at once cannot both win, and each is written to the
campaign's history (`CampaignEvent`: who, when, from, to, why); staff actions are in the audit
log as well (the staff API writes it). Cancelling withdraws what was written and not sent yet
and skips the recipients not yet planned, saying so (`club.campaigns.unsent`).

A campaign to more members than the programme's `approval_threshold` needs an admin's approval
(for at least its size) before it can be sent; the scheduler checks again when it starts and
pauses it, saying why, if the segment has grown past what was approved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from club.campaigns import message as msg
from club.campaigns.audience import segment_size
from club.campaigns.unsent import cancel_rest
from club.db.models.campaigns import Campaign, CampaignEvent, CampaignRun
from club.db.models.segments import Segment
from club.rules.campaigns import (
    BASIS,
    Action,
    CampaignStatus,
    RunStatus,
    TransitionRefused,
    next_status,
    seed_range,
)
from club.rules.programme import Programme
from club.staff.accounts import StaffIdentity

MAX_HOLDOUT_BP = 5000


class CampaignError(ValueError):
    """Cannot be created or changed as asked; `field` names what is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownCampaign(LookupError):
    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"no campaign with id {campaign_id}")


class NeedsApproval(Exception):
    """Larger than the threshold and not approved for its size: an admin must approve it."""


@dataclass(frozen=True)
class Spec:
    name: str
    segment_id: int
    message: msg.CampaignMessage
    bonus_points: int = 0
    budget_points: int = 0
    send_at: datetime | None = None
    daily_at: time | None = None
    pace: int | None = None
    holdout_bp: int = 0
    effect_days: int | None = None


async def create(
    spec: Spec, *, programme: Programme, now: datetime, staff: StaffIdentity
) -> Campaign:
    try:
        msg.check(spec.message)
    except msg.MessageError as exc:
        raise CampaignError(str(exc), exc.field) from None
    if not await Segment.exists(id=spec.segment_id):
        raise CampaignError(f"no segment with id {spec.segment_id}", "segment_id")
    settings = programme.campaigns
    if spec.pace is not None and spec.pace > settings.max_per_second:
        raise CampaignError(
            f"pace: at most {settings.max_per_second} messages a second (the programme's "
            "campaigns.max_per_second)",
            "pace",
        )
    if spec.bonus_points and spec.budget_points < spec.bonus_points:
        raise CampaignError("budget_points must cover at least one bonus", "budget_points")
    if not 0 <= spec.holdout_bp <= MAX_HOLDOUT_BP:
        raise CampaignError(f"holdout: 0 to {MAX_HOLDOUT_BP / 100:g}%", "holdout_percent")
    low, high = seed_range()
    campaign = await Campaign.create(
        name=spec.name,
        segment_id=spec.segment_id,
        message=msg.to_json(spec.message),
        bonus_points=spec.bonus_points,
        budget_points=spec.budget_points if spec.bonus_points else 0,
        send_at=spec.send_at,
        daily_at=None if spec.daily_at is None else spec.daily_at.hour * 60 + spec.daily_at.minute,
        pace=spec.pace,
        holdout_bp=spec.holdout_bp,
        seed=low + secrets.randbelow(high - low + 1),
        effect_days=spec.effect_days or settings.effect_days,
        created_by=staff.id,
        created_at=now,
        updated_at=now,
    )
    await record_event(campaign.id, None, CampaignStatus.DRAFT, now, staff, "created")
    return campaign


async def get(campaign_id: int) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise UnknownCampaign(campaign_id)
    return campaign


async def record_event(
    campaign_id: int,
    from_status: CampaignStatus | None,
    to_status: CampaignStatus,
    now: datetime,
    staff: StaffIdentity | None,
    reason: str | None,
) -> None:
    await CampaignEvent.create(
        campaign_id=campaign_id,
        at=now,
        from_status=None if from_status is None else from_status.value,
        to_status=to_status.value,
        actor_id=None if staff is None else staff.id,
        actor_name=None if staff is None else staff.name,
        reason=None if reason is None else reason[:255],
    )


async def move(
    campaign: Campaign,
    action: Action,
    now: datetime,
    staff: StaffIdentity | None,
    reason: str | None = None,
    **fields: Any,
) -> Campaign:
    """Apply `action` if the campaign is still in the status it was read in."""
    before = CampaignStatus(campaign.status)
    resume_to = CampaignStatus.SCHEDULED
    if action is Action.RESUME and campaign.daily_at is None and await _has_open_run(campaign.id):
        resume_to = CampaignStatus.SENDING  # its run goes on where it stopped
    after = next_status(
        before, action, recurring=campaign.daily_at is not None, resume_to=resume_to
    )
    changed = await Campaign.filter(id=campaign.id, status=before).update(
        status=after, status_reason=reason, updated_at=now, **fields
    )
    if not changed:
        fresh = await get(campaign.id)
        raise TransitionRefused(
            f"the campaign changed meanwhile (it is {fresh.status.value} now); try again"
        )
    await record_event(campaign.id, before, after, now, staff, reason)
    if action is Action.CANCEL:
        await CampaignRun.filter(
            campaign_id=campaign.id, status__in=[RunStatus.SENDING, RunStatus.MASS]
        ).update(status=RunStatus.CANCELLED, finished_at=now)
        await cancel_rest(campaign.id, now)
    return await get(campaign.id)


async def _has_open_run(campaign_id: int) -> bool:
    return await CampaignRun.exists(
        campaign_id=campaign_id, status__in=[RunStatus.SENDING, RunStatus.MASS]
    )


async def schedule(
    campaign_id: int,
    *,
    send_at: datetime | None,
    programme: Programme,
    now: datetime,
    staff: StaffIdentity,
) -> Campaign:
    """Draft -> scheduled (to start at `send_at`, or now); refused while it needs approval."""
    campaign = await get(campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        next_status(campaign.status, Action.SCHEDULE, recurring=False, resume_to=campaign.status)
    size = await segment_size(campaign.segment_id, programme, now)
    threshold = programme.campaigns.approval_threshold
    if size > threshold and (campaign.approved_for is None or size > campaign.approved_for):
        raise NeedsApproval(
            f"the segment has {size} members, more than the programme's approval threshold "
            f"({threshold}): an admin must approve the campaign first"
        )
    when = send_at if send_at is not None else campaign.send_at
    return await move(
        campaign,
        Action.SCHEDULE,
        now,
        staff,
        f"to start at {(when or now).isoformat(timespec='minutes')}",
        send_at=when or now,
        audience_estimate=size,
    )


async def approve(
    campaign_id: int, *, programme: Programme, now: datetime, staff: StaffIdentity
) -> Campaign:
    """An admin approves the campaign for the segment's size now (and up to 10% more)."""
    campaign = await get(campaign_id)
    if campaign.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
        raise TransitionRefused(f"a {campaign.status.value} campaign needs no approval")
    size = await segment_size(campaign.segment_id, programme, now)
    allowed = size + size // 10
    await Campaign.filter(id=campaign.id).update(
        approved_by=staff.id,
        approved_at=now,
        approved_for=allowed,
        audience_estimate=size,
        updated_at=now,
    )
    await record_event(
        campaign.id,
        campaign.status,
        campaign.status,
        now,
        staff,
        f"approved for up to {allowed} members ({size} now)",
    )
    return await get(campaign.id)


def holdout_percent(campaign: Campaign) -> float:
    return campaign.holdout_bp * 100 / BASIS
