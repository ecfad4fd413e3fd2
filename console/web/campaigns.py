"""Campaigns: the list with the automations, the composer (segment builder with its live count,
the message and its preview, bonus, budget, schedule, pace, holdout), and a campaign's page
(channel plan, test to my WeChat, approval, send, pause/resume/cancel, progress, effect).

Every action runs the staff API's endpoint (`act`): the same role check, validation, service and
audit as `/api/v1/campaigns...` and `/api/v1/segments...`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.deps import DEPS
from bot.jsontext import json_response
from bot.staff_api.errors import ApiError
from club.campaigns.views import LIST_PAGE
from club.staff.accounts import Permission
from club.staff.wechat import bound_openid
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.queries.value import IN_FLIGHT
from console.render import page_language, render
from console.web import charts
from console.web.actions import (
    FormError,
    act,
    act_any,
    download,
    integer,
    optional_text,
    path_id,
    text,
    whole_number,
)
from console.web.segment_builder import builder_options

ACTIONS = ("test", "send", "approve", "pause", "resume", "cancel")
ACTION_OPERATIONS = {
    "test": "testCampaign",
    "send": "sendCampaign",
    "approve": "approveCampaign",
    "pause": "pauseCampaign",
    "resume": "resumeCampaign",
    "cancel": "cancelCampaign",
}


def percent_done(progress: Mapping[str, Any] | None) -> int:
    """How far the sending is: everyone handled (sent, failed, skipped, held out) of all."""
    if not progress or not progress["recipients"]:
        return 0
    waiting = progress["pending"] + progress["queued"] + progress["mass_waiting"]
    total = int(progress["recipients"])
    return round(100 * (total - int(waiting)) / total)


async def campaigns_page(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_CAMPAIGNS)
    offset = whole_number(request.query.get("offset"), high=1_000_000) or 0
    # One call: the list carries each campaign's progress and last runs (read at once).
    page = (
        await act(
            request, "listCampaigns", {}, query={"limit": str(LIST_PAGE), "offset": str(offset)}
        )
    ).model_dump()
    listed = page["campaigns"]
    return await render(
        request,
        "campaigns.html",
        {
            "offset": offset,
            "total": page["total"],
            "newer": max(0, offset - LIST_PAGE) if offset else None,
            "older": offset + LIST_PAGE if offset + LIST_PAGE < page["total"] else None,
            "campaigns": [
                {"c": c, "percent": percent_done(c["progress"])}
                for c in listed
                if c["daily_at"] is None
            ],
            "automations": [
                {"c": c, "runs": c["runs"][::-1]} for c in listed if c["daily_at"] is not None
            ],
        },
    )


async def composer(
    request: web.Request, *, error: str | None = None, form: Mapping[str, Any] | None = None
) -> web.StreamResponse:
    require(request, Permission.MANAGE_CAMPAIGNS)
    lang = page_language(request)
    segments = (await act(request, "listSegments", {})).model_dump()["segments"]
    return await render(
        request,
        "campaign_new.html",
        {
            "segments": segments,
            "builder": builder_options(request.app[DEPS].programme, lang),
            "error": error,
            "form": dict(form or {}),
            "limits": request.app[DEPS].programme.campaigns,
        },
        status=422 if error else 200,
    )


async def new_campaign(request: web.Request) -> web.StreamResponse:
    return await composer(request)


def template_fields(raw: str) -> dict[str, str]:
    """`thing1=...` a line (blank lines ignored) as the template's fields."""
    found: dict[str, str] = {}
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise FormError("template_fields", f"line {number}: write name=text")
        found[name.strip()] = value.strip()
    return found


def local_time(form: Mapping[str, object], name: str, request: web.Request) -> str | None:
    """A `datetime-local` value (club time) as ISO 8601 with the club's offset."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise FormError(name, "must be a date and time") from None
    return naive.replace(tzinfo=request.app[DEPS].settings.tz).isoformat()


def campaign_body(form: Mapping[str, object], request: web.Request) -> dict[str, Any]:
    """The createCampaign body but its segment: read before a new segment is saved for it."""
    message: dict[str, Any] = {"text": text(form, "text")}
    if text(form, "text_en"):
        message["text_en"] = text(form, "text_en")
    if text(form, "template_id"):
        message["template"] = {
            "template_id": text(form, "template_id"),
            "fields": template_fields(text(form, "template_fields")),
        }
    body: dict[str, Any] = {
        "name": text(form, "name"),
        "message": message,
        "bonus_points": integer(form, "bonus_points") if text(form, "bonus_points") else 0,
        "budget_points": integer(form, "budget_points") if text(form, "budget_points") else 0,
        "holdout_percent": _percent(form),
        "send_at": local_time(form, "send_at", request),
        "daily_at": optional_text(form, "daily_at"),
    }
    if text(form, "pace"):
        body["pace"] = integer(form, "pace")
    if text(form, "effect_days"):
        body["effect_days"] = integer(form, "effect_days")
    return body


def _percent(form: Mapping[str, object]) -> float:
    raw = text(form, "holdout_percent") or "0"
    try:
        return float(raw)
    except ValueError:
        raise FormError("holdout_percent", "must be a number") from None


def _rule(form: Mapping[str, object]) -> Any:
    try:
        return json.loads(text(form, "rule"))
    except ValueError:
        raise FormError("rule", "is not a rule document (JSON)") from None


async def create_campaign(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_CAMPAIGNS)
    form = await request.post()
    _ = translator(page_language(request))
    kept: dict[str, Any] = dict(form)
    try:
        body = campaign_body(form, request)
        chosen = text(form, "segment_id")
        if chosen and chosen != "new":
            body["segment_id"] = integer(form, "segment_id")
        else:
            name = text(form, "segment_name") or text(form, "name")
            segment = await act(request, "createSegment", {"name": name, "rule": _rule(form)})
            body["segment_id"] = segment.model_dump()["id"]
            # Saved now: a refused campaign comes back with it chosen, not to be made twice.
            kept["segment_id"] = str(body["segment_id"])
        done = (await act(request, "createCampaign", body)).model_dump()
    except FormError as exc:
        return await composer(request, error=str(exc), form=kept)
    except ApiError as exc:
        return await composer(request, error=exc.message, form=kept)
    await request.app[SESSIONS].push_flash(
        current_user(request).session, _("campaign_created", name=done["name"])
    )
    return see_other(f"/console/campaigns/{done['id']}")


async def campaign_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    user = require(request, Permission.MANAGE_CAMPAIGNS)
    cid = path_id(request)
    lang = page_language(request)
    _ = translator(lang)
    try:
        c = (await act(request, "getCampaign", {}, path={"id": cid})).model_dump()
        preview = (await act(request, "previewCampaign", {}, path={"id": cid})).model_dump()
        segment = (await act(request, "getSegment", {}, path={"id": c["segment_id"]})).model_dump()
    except ApiError as exc:
        if exc.status == 404:
            raise web.HTTPNotFound() from None
        raise
    threshold = request.app[DEPS].programme.campaigns.approval_threshold
    needs_approval = (
        c["status"] == "draft"
        and preview["audience"] > threshold
        and (c["approved_for"] is None or preview["audience"] > c["approved_for"])
    )
    effect = c["effect"]
    return await render(
        request,
        "campaign.html",
        {
            "c": c,
            "p": preview,
            "segment": segment,
            "segment_json": json.dumps(segment["rule"], ensure_ascii=False, indent=1)
            if segment["rule"]
            else None,
            "percent": percent_done(c["progress"]),
            "in_flight": c["status"] in IN_FLIGHT,
            "needs_approval": needs_approval,
            "threshold": threshold,
            "bound": await bound_openid(user.staff.id) is not None,
            "bind_code": request.query.get("code"),
            "error": error,
            "charts": (
                {"effect": charts.effect_chart(effect, _)}
                if effect and any(m["low"] is not None for m in effect["metrics"])
                else {}
            ),
            "template_lines": _template_lines(preview["messages"].get("template")),
        },
        status=status,
    )


def _template_lines(message: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not message:
        return []
    data = message.get("data") or {}
    return [(k, v["value"] if isinstance(v, dict) else str(v)) for k, v in data.items()]


async def show(request: web.Request) -> web.StreamResponse:
    return await campaign_page(request)


async def action(request: web.Request) -> web.StreamResponse:
    name = request.match_info["action"]
    if name not in ACTIONS:
        raise web.HTTPNotFound()
    # Approval is the endpoint's to refuse (403, audited as the API's refusals are).
    require(request, Permission.MANAGE_CAMPAIGNS)
    cid = path_id(request)
    form = await request.post()
    _ = translator(page_language(request))
    body: dict[str, object] = {}
    if name in ("pause", "resume", "cancel"):
        body = {"reason": optional_text(form, "reason")}
    try:
        done = (await act(request, ACTION_OPERATIONS[name], body, path={"id": cid})).model_dump()
    except ApiError as exc:
        return await campaign_page(request, error=exc.message, status=exc.status)
    note = _("campaign_tested", to=done["sent_to"]) if name == "test" else _("campaign_" + name)
    await request.app[SESSIONS].push_flash(current_user(request).session, note)
    return see_other(f"/console/campaigns/{cid}")


async def bind_code(request: web.Request) -> web.StreamResponse:
    """A one-time code to bind my own WeChat (for tests): shown on the campaign page."""
    require(request, Permission.MANAGE_CAMPAIGNS)
    cid = path_id(request)
    try:
        code = (await act(request, "newWeChatCode", {})).model_dump()
    except ApiError as exc:
        return await campaign_page(request, error=exc.message, status=exc.status)
    return see_other(f"/console/campaigns/{cid}?code={code['code']}#test")


async def progress_json(request: web.Request) -> web.StreamResponse:
    """What the campaign page polls while it sends: status and how far (the API's GET)."""
    require(request, Permission.MANAGE_CAMPAIGNS)
    cid = path_id(request)
    c = (await act(request, "getCampaign", {}, path={"id": cid})).model_dump(mode="json")
    progress = c["progress"]
    return json_response(
        {
            "status": c["status"],
            "percent": percent_done(progress),
            "recipients": progress["recipients"],
            "sent": progress["sent"],
            "failed": sum(progress["failed"].values()),
            "skipped": sum(progress["skipped"].values()),
            "held_out": progress["held_out"],
            "waiting": progress["pending"] + progress["queued"] + progress["mass_waiting"],
        }
    )


async def segment_count(request: web.Request) -> web.StreamResponse:
    """The segment builder's live count: the segments API's preview of the rule being built."""
    require(request, Permission.MANAGE_SEGMENTS)
    form = await request.post()
    try:
        preview = await act(request, "previewRule", {"rule": _rule(form), "sample": 0})
    except FormError as exc:
        return json_response({"error": str(exc)}, status=422)
    except ApiError as exc:
        return json_response({"error": exc.message}, status=exc.status)
    return json_response({"count": preview.model_dump()["count"]})


async def recipients_csv(request: web.Request) -> web.StreamResponse:
    """The recipients with their channel and outcome: the API's CSV, streamed."""
    require(request, Permission.MANAGE_CAMPAIGNS)
    cid = path_id(request)
    found = await act_any(request, "campaignRecipients", path={"id": cid})
    return await download(request, found)
