"""A relationship manager's key customers nobody on the staff contacted lately, and recording
a contact (a call, a visit, a WeChat chat) so that the customer leaves the list.

Each runs the staff API's endpoint (`listNeglectedKeyCustomers`, `logStaffContact`): the same
role check and audit. Admins and marketers may open another manager's list.
"""

from __future__ import annotations

from aiohttp import web

from bot.staff_api.errors import ApiError
from club.staff.accounts import Permission
from club.staff.passwords import list_staff
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.render import page_language, render
from console.web.actions import act, path_id, text, whole_number

PAGE = "/console/key-customers"
DAYS = (7, 14, 30, 60, 90)
CHANNELS = ("phone", "visit", "wechat")


async def neglected(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    user = require(request, Permission.HANDLE_TICKETS)
    days = whole_number(request.query.get("days"), high=3650) or 30
    query = {"days": str(days)}
    others = user.can(Permission.ASSIGN_MANAGERS)
    chosen = whole_number(request.query.get("staff")) if others else None
    if chosen is not None:
        query["staff_id"] = str(chosen)
    found = (await act(request, "listNeglectedKeyCustomers", {}, query=query)).model_dump()
    managers = [s for s in await list_staff() if s.active] if others else []
    return await render(
        request,
        "key_customers.html",
        {
            "customers": found["customers"],
            "days": days,
            "day_choices": DAYS,
            "staff_id": found["staff_id"],
            "managers": managers,
            "channels": CHANNELS,
            "back": request.path_qs,
            "error": error,
        },
        status=status,
    )


async def contact(request: web.Request) -> web.StreamResponse:
    require(request, Permission.HANDLE_TICKETS)
    member_id = path_id(request)
    form = await request.post()
    _ = translator(page_language(request))
    body = {"channel": text(form, "channel"), "note": text(form, "note")}
    try:
        await act(request, "logStaffContact", body, path={"id": member_id})
    except ApiError as exc:
        return await neglected(request, error=exc.message, status=exc.status)
    await request.app[SESSIONS].push_flash(current_user(request).session, _("contact_logged"))
    back = text(form, "back")
    return see_other(
        back if back.startswith("/console/key-customers") else "/console/key-customers"
    )
