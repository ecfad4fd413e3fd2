"""Service tickets: the queue (key customers first), a ticket's conversation, answer and close.

Each runs the staff API's ticket endpoint (list, read, answer, close): the same role check,
audit, and the member told in their own language as the API does.
"""

from __future__ import annotations

from aiohttp import web

from bot.staff_api.errors import ApiError
from club.staff.accounts import Permission
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.queries.value import ticket_head
from console.render import page_language, render
from console.web.actions import act, path_id, text

STATUSES = ("open", "closed")


async def queue(request: web.Request) -> web.StreamResponse:
    require(request, Permission.HANDLE_TICKETS)
    status = request.query.get("status", "open")
    if status not in STATUSES:
        status = "open"
    found = (await act(request, "listTickets", {}, query={"status": status})).model_dump()
    return await render(
        request,
        "tickets.html",
        {"tickets": found["tickets"], "status": status, "statuses": STATUSES},
    )


async def ticket_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    require(request, Permission.HANDLE_TICKETS)
    tid = path_id(request)
    head = await ticket_head(tid)
    if head is None:
        raise web.HTTPNotFound()
    detail = (await act(request, "getTicket", {}, path={"id": tid})).model_dump()
    return await render(
        request,
        "ticket.html",
        {"t": head, "lines": detail["lines"], "error": error},
        status=status,
    )


async def show(request: web.Request) -> web.StreamResponse:
    return await ticket_page(request)


async def answer(request: web.Request) -> web.StreamResponse:
    require(request, Permission.HANDLE_TICKETS)
    tid = path_id(request)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        await act(request, "answerTicket", {"text": text(form, "text")}, path={"id": tid})
    except ApiError as exc:
        return await ticket_page(request, error=exc.message, status=exc.status)
    await request.app[SESSIONS].push_flash(current_user(request).session, _("ticket_answered"))
    return see_other(f"/console/tickets/{tid}")


async def close(request: web.Request) -> web.StreamResponse:
    require(request, Permission.HANDLE_TICKETS)
    tid = path_id(request)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        await act(request, "closeTicket", {"note": text(form, "note")}, path={"id": tid})
    except ApiError as exc:
        return await ticket_page(request, error=exc.message, status=exc.status)
    await request.app[SESSIONS].push_flash(current_user(request).session, _("ticket_closed_note"))
    return see_other("/console/tickets")
