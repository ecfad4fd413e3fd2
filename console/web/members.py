"""Members: search, the member page, and what staff do there (points, tier floor, purchase).

Reading a member is audited as the API's `member.read` is; the actions run the API's endpoints.
Phones are masked for every role but admin, as in the API.
"""

from __future__ import annotations

from aiohttp import web

from bot.deps import DEPS
from bot.staff_api.errors import ApiError
from club.members.phone import mask_phone
from club.members.records import member_by_id
from club.points.ledger import balance
from club.points.views import movements
from club.rules.programme import Programme
from club.staff.accounts import Permission, record_audit
from club.tiers.service import tier_status
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.queries.members import (
    MemberRow,
    SearchKind,
    member_messages,
    member_purchases,
    search_members,
)
from console.queries.value import member_tickets, member_value_facts
from console.render import page_language, render
from console.web.actions import FormError, act, fen, integer, new_ref, optional_text, path_id, text

LEDGER_ROWS = 50


def tier_label(programme: Programme, code: str | None, lang: str) -> str:
    tier = programme.tiers.get(code)
    return tier.name_en if lang == "en" else tier.name_zh


def shown_phone(request: web.Request, phone: str | None) -> str:
    if phone is None:
        return "—"
    return phone if current_user(request).can(Permission.SEE_FULL_PHONE) else mask_phone(phone)


async def search(request: web.Request) -> web.StreamResponse:
    user = require(request, Permission.READ_MEMBER)
    query = request.query.get("q", "").strip()[:64]
    rows: list[MemberRow] = []
    kind: SearchKind | None = None
    if query:
        kind, rows = await search_members(query)
        deps = request.app[DEPS]
        # What was searched for is not kept: it may be a phone number.
        await record_audit(
            user.staff,
            action="member.search",
            target=None,
            status=200,
            summary={"via": "console", "kind": kind.value, "found": len(rows)},
            now=deps.clock.now(),
        )
    programme = request.app[DEPS].programme
    lang = page_language(request)
    return await render(
        request,
        "members.html",
        {
            "q": query,
            "kind": kind,
            "rows": [
                {
                    "row": r,
                    "phone": shown_phone(request, r.phone),
                    "tier": tier_label(programme, r.tier, lang) if r.joined_at else None,
                }
                for r in rows
            ],
        },
    )


async def member_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    user = require(request, Permission.READ_MEMBER)
    member_id = path_id(request)
    member = await member_by_id(member_id)
    if member is None or member.deleted:
        raise web.HTTPNotFound()
    deps = request.app[DEPS]
    now = deps.clock.now()
    programme = deps.programme
    lang = page_language(request)
    standing = await tier_status(member.id, now, programme)
    points = await balance(member.id, now)
    ledger = (
        await movements(member.id, limit=LEDGER_ROWS) if user.can(Permission.READ_LEDGER) else []
    )
    await record_audit(
        user.staff,
        action="member.read",
        target=f"member:{member.id}",
        status=status,
        summary={"via": "console"},
        now=now,
    )
    return await render(
        request,
        "member.html",
        {
            "m": member,
            "phone": shown_phone(request, member.phone),
            "tier": tier_label(programme, standing.tier.code, lang),
            "floor": tier_label(programme, standing.floor, lang) if standing.floor else None,
            "standing": standing,
            "next_tier": (
                tier_label(programme, standing.next_tier.code, lang) if standing.next_tier else None
            ),
            "points": points,
            "ledger": ledger,
            "purchases": await member_purchases(member.id),
            "messages": await member_messages(member.id),
            "value": await member_value_facts(member.id),
            "tickets": (
                await member_tickets(member.id) if user.can(Permission.HANDLE_TICKETS) else []
            ),
            "tiers": [(t.code, tier_label(programme, t.code, lang)) for t in programme.tiers.tiers],
            "tier_names": {
                t.code: tier_label(programme, t.code, lang) for t in programme.tiers.tiers
            },
            "error": error,
            "ref": new_ref("console"),
        },
        status=status,
    )


async def show(request: web.Request) -> web.StreamResponse:
    return await member_page(request)


async def _after(request: web.Request, note: str) -> web.StreamResponse:
    await request.app[SESSIONS].push_flash(current_user(request).session, note)
    return see_other(f"/console/members/{path_id(request)}")


async def adjust(request: web.Request) -> web.StreamResponse:
    require(request, Permission.ADJUST_POINTS)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        body = {
            "points": integer(form, "points"),
            "reason": text(form, "reason"),
            "ref": optional_text(form, "ref"),
        }
        done = await act(request, "adjustMemberPoints", body, path={"id": path_id(request)})
    except FormError as exc:
        return await member_page(request, error=str(exc), status=422)
    except ApiError as exc:
        return await member_page(request, error=exc.message, status=exc.status)
    values = done.model_dump()
    return await _after(request, _("adjusted", points=values["points"], balance=values["balance"]))


async def set_floor(request: web.Request) -> web.StreamResponse:
    require(request, Permission.SET_TIER_FLOOR)
    form = await request.post()
    _ = translator(page_language(request))
    body = {"tier": optional_text(form, "tier"), "reason": text(form, "reason")}
    try:
        await act(request, "setMemberTierFloor", body, path={"id": path_id(request)})
    except ApiError as exc:
        return await member_page(request, error=exc.message, status=exc.status)
    return await _after(request, _("floor_set"))


async def purchase(request: web.Request) -> web.StreamResponse:
    require(request, Permission.RECORD_PURCHASE)
    form = await request.post()
    lang = page_language(request)
    _ = translator(lang)
    try:
        body = {
            "member_id": path_id(request),
            "order_id": text(form, "order_id"),
            "amount_fen": fen(form, "amount"),
            "store": optional_text(form, "store"),
        }
        done = await act(request, "recordPurchase", body)
    except FormError as exc:
        return await member_page(request, error=str(exc), status=422)
    except ApiError as exc:
        return await member_page(request, error=exc.message, status=exc.status)
    values = done.model_dump()
    programme = request.app[DEPS].programme
    note = _(
        "purchase_recorded",
        order=values["order_id"],
        points=values["points_earned"],
        balance=values["balance"],
        tier=tier_label(programme, values["tier"], lang),
    )
    if values["upgraded_from"]:
        note += " " + _("upgraded", tier=tier_label(programme, values["tier"], lang))
    return await _after(request, note)
