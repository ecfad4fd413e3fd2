"""The till's page: record a purchase for a member number, or a return against an order."""

from __future__ import annotations

from aiohttp import web

from bot.staff_api.errors import ApiError
from club.staff.accounts import Permission
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.render import page_language, render
from console.web.actions import FormError, act, fen, integer, new_ref, optional_text, text


async def till(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    require(request, Permission.RECORD_PURCHASE)
    return await render(
        request,
        "purchases.html",
        {"error": error, "ref": new_ref("return"), "member": request.query.get("member", "")},
        status=status,
    )


async def record_purchase(request: web.Request) -> web.StreamResponse:
    require(request, Permission.RECORD_PURCHASE)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        body = {
            "member_id": integer(form, "member_id"),
            "order_id": text(form, "order_id"),
            "amount_fen": fen(form, "amount"),
            "store": optional_text(form, "store"),
        }
        done = await act(request, "recordPurchase", body)
    except FormError as exc:
        return await till(request, error=str(exc), status=422)
    except ApiError as exc:
        return await till(request, error=exc.message, status=exc.status)
    values = done.model_dump()
    await request.app[SESSIONS].push_flash(
        current_user(request).session,
        _("purchase_saved", order=values["order_id"], points=values["points_earned"]),
    )
    return see_other(f"/console/members/{values['member_id']}")


async def record_return(request: web.Request) -> web.StreamResponse:
    require(request, Permission.RECORD_RETURN)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        body = {
            "order_id": text(form, "order_id"),
            "amount_fen": fen(form, "amount"),
            "ref": optional_text(form, "ref"),
        }
        done = await act(request, "recordReturn", body)
    except FormError as exc:
        return await till(request, error=str(exc), status=422)
    except ApiError as exc:
        return await till(request, error=exc.message, status=exc.status)
    values = done.model_dump()
    await request.app[SESSIONS].push_flash(
        current_user(request).session,
        _("return_saved", order=values["order_id"], points=values["points_reversed"]),
    )
    return see_other(f"/console/members/{values['member_id']}")
