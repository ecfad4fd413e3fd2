"""Campaigns: create, preview, test to my own WeChat, send, approve, pause, resume, cancel, and
read delivery and effect. Marketers and admins; approval is for admins."""

from __future__ import annotations

from datetime import time

from bot.logs import mask_openid
from bot.staff_api.campaign_schemas import (
    CampaignIn,
    CampaignList,
    CampaignListQuery,
    CampaignOut,
    EffectOut,
    EventOut,
    PreviewOut,
    ProgressOut,
    ReasonIn,
    RunOut,
    ScheduleIn,
    TestOut,
    WeChatCodeOut,
)
from bot.staff_api.endpoint import Call, CsvFile, Endpoint, View
from club.campaigns import lifecycle, views
from club.campaigns import message as msg
from club.campaigns.preview import channel_preview
from club.campaigns.progress import recipient_lines
from club.campaigns.trial import send_test
from club.messaging.message import LinkCard
from club.rules.campaigns import Action
from club.staff.accounts import Permission
from club.staff.wechat import new_code


def _message(body: CampaignIn) -> msg.CampaignMessage:
    m = body.message
    return msg.CampaignMessage(
        text=m.text,
        text_en=m.text_en,
        link=LinkCard(m.link.title, m.link.url, m.link.description, m.link.picurl or "")
        if m.link
        else None,
        template=msg.CampaignTemplate(
            m.template.template_id, tuple(m.template.fields.items()), m.template.url
        )
        if m.template
        else None,
    )


async def _out(call: Call, campaign_id: int) -> CampaignOut:
    return _shown(await views.campaign_view(campaign_id, call.deps.programme, call.now))


def _shown(view: views.CampaignView) -> CampaignOut:
    out = CampaignOut.model_validate(view.campaign)
    out.progress = None if view.progress is None else ProgressOut.model_validate(view.progress)
    out.runs = [RunOut.model_validate(r) for r in view.runs]
    out.events = [EventOut.model_validate(e) for e in view.events]
    out.effect = None if view.effect is None else EffectOut.model_validate(view.effect)
    return out


async def create_campaign(call: Call) -> CampaignOut:
    body = call.body_as(CampaignIn)
    daily = None
    if body.daily_at is not None:
        hours, minutes = body.daily_at.split(":")
        daily = time(int(hours), int(minutes))
    spec = lifecycle.Spec(
        name=body.name,
        segment_id=body.segment_id,
        message=_message(body),
        bonus_points=body.bonus_points,
        budget_points=body.budget_points,
        send_at=body.send_at,
        daily_at=daily,
        pace=body.pace,
        holdout_bp=round(body.holdout_percent * 100),
        effect_days=body.effect_days,
    )
    campaign = await lifecycle.create(
        spec, programme=call.deps.programme, now=call.now, staff=call.staff
    )
    call.target = f"campaign:{campaign.id}"
    return await _out(call, campaign.id)


async def list_campaigns(call: Call) -> CampaignList:
    query = call.query_as(CampaignListQuery)
    listed = await views.campaign_list(limit=query.limit, offset=query.offset)
    return CampaignList(
        campaigns=[_shown(view) for view in listed], total=await views.campaign_count()
    )


async def get_campaign(call: Call) -> CampaignOut:
    return await _out(call, call.path["id"])


async def preview_campaign(call: Call) -> PreviewOut:
    campaign = await lifecycle.get(call.path["id"])
    preview = await channel_preview(
        campaign, call.deps.programme, call.deps.campaigns.rules, call.now
    )
    return PreviewOut.model_validate(preview)


async def test_campaign(call: Call) -> TestOut:
    openid, told = await send_test(call.deps.campaigns, call.path["id"], call.staff, call.now)
    plan = told.plan
    return TestOut(
        sent_to=mask_openid(openid),
        channel=None if plan is None or plan.channel is None else plan.channel.value,
        outbox_id=told.outbox_id,
        not_before=None if plan is None else plan.not_before,
    )


async def send_campaign(call: Call) -> CampaignOut:
    body = call.body_as(ScheduleIn)
    campaign = await lifecycle.schedule(
        call.path["id"],
        send_at=body.send_at,
        programme=call.deps.programme,
        now=call.now,
        staff=call.staff,
    )
    return await _out(call, campaign.id)


async def approve_campaign(call: Call) -> CampaignOut:
    campaign = await lifecycle.approve(
        call.path["id"], programme=call.deps.programme, now=call.now, staff=call.staff
    )
    return await _out(call, campaign.id)


def _action(action: Action) -> View:
    async def view(call: Call) -> CampaignOut:
        body = call.body_as(ReasonIn)
        campaign = await lifecycle.get(call.path["id"])
        moved = await lifecycle.move(campaign, action, call.now, call.staff, body.reason)
        return await _out(call, moved.id)

    return view


async def recipients_csv(call: Call) -> CsvFile:
    campaign = await lifecycle.get(call.path["id"])
    return CsvFile(
        filename=f"campaign-{campaign.id}-recipients.csv", lines=recipient_lines(campaign.id)
    )


async def wechat_code(call: Call) -> WeChatCodeOut:
    code = await new_code(call.staff.id, call.now)
    call.target = f"staff:{call.staff.id}"
    return WeChatCodeOut(
        code=code.code,
        expires_at=code.expires_at,
        how=f"send 绑定 {code.code} (or bind {code.code}) to the Official Account from your "
        "own WeChat within ten minutes",
    )


_CONFLICT = {409: "The campaign's status does not allow this (the message says which it is)"}
_ACTIONS = (
    (Action.PAUSE, "pause", "Pause a scheduled or sending campaign"),
    (Action.RESUME, "resume", "Resume a paused campaign where it stopped"),
    (Action.CANCEL, "cancel", "Cancel a campaign that has not finished"),
)

ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/campaigns",
        view=list_campaigns,
        operation_id="listCampaigns",
        summary="List campaigns, newest first, a page at a time",
        permission=Permission.MANAGE_CAMPAIGNS,
        query=CampaignListQuery,
        response=CampaignList,
    ),
    Endpoint(
        method="POST",
        path="/api/v1/campaigns",
        view=create_campaign,
        operation_id="createCampaign",
        summary="Create a campaign (a draft)",
        permission=Permission.MANAGE_CAMPAIGNS,
        body=CampaignIn,
        response=CampaignOut,
        status=201,
        audit="campaign.create",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/campaigns/{id}",
        view=get_campaign,
        operation_id="getCampaign",
        summary="Read a campaign: its status, delivery by reason, runs, history and effect",
        permission=Permission.MANAGE_CAMPAIGNS,
        response=CampaignOut,
    ),
    Endpoint(
        method="GET",
        path="/api/v1/campaigns/{id}/preview",
        view=preview_campaign,
        operation_id="previewCampaign",
        summary="Preview a campaign: members per channel, who cannot be reached, each message",
        permission=Permission.MANAGE_CAMPAIGNS,
        response=PreviewOut,
    ),
    Endpoint(
        method="GET",
        path="/api/v1/campaigns/{id}/recipients.csv",
        view=recipients_csv,
        operation_id="campaignRecipients",
        summary="Download the campaign's recipients with their channel and outcome (CSV)",
        permission=Permission.MANAGE_CAMPAIGNS,
        response=CsvFile,
        csv_response=True,
        audit="campaign.recipients",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/campaigns/{id}/test",
        view=test_campaign,
        operation_id="testCampaign",
        summary="Send the campaign to my own WeChat",
        permission=Permission.MANAGE_CAMPAIGNS,
        response=TestOut,
        errors={409: "No WeChat is bound to this staff account yet"},
        audit="campaign.test",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/campaigns/{id}/send",
        view=send_campaign,
        operation_id="sendCampaign",
        summary="Send a draft campaign now or at a time",
        permission=Permission.MANAGE_CAMPAIGNS,
        body=ScheduleIn,
        response=CampaignOut,
        errors={
            409: "Not a draft, or larger than the approval threshold and not approved by an admin"
        },
        audit="campaign.send",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/campaigns/{id}/approve",
        view=approve_campaign,
        operation_id="approveCampaign",
        summary="Approve a campaign larger than the programme's threshold",
        permission=Permission.APPROVE_CAMPAIGNS,
        response=CampaignOut,
        errors=_CONFLICT,
        audit="campaign.approve",
    ),
    *(
        Endpoint(
            method="POST",
            path=f"/api/v1/campaigns/{{id}}/{name}",
            view=_action(action),
            operation_id=f"{name}Campaign",
            summary=summary,
            permission=Permission.MANAGE_CAMPAIGNS,
            body=ReasonIn,
            response=CampaignOut,
            errors=_CONFLICT,
            audit=f"campaign.{name}",
        )
        for action, name, summary in _ACTIONS
    ),
    Endpoint(
        method="POST",
        path="/api/v1/me/wechat-code",
        view=wechat_code,
        operation_id="newWeChatCode",
        summary="Get a one-time code to bind my own WeChat (for campaign tests)",
        permission=Permission.MANAGE_CAMPAIGNS,
        response=WeChatCodeOut,
        audit="staff.wechat_code",
    ),
]
