"""Staff accounts (admins only): who has console access, and setting a password."""

from __future__ import annotations

from aiohttp import web

from bot.deps import DEPS
from club.staff.accounts import Permission, StaffError, record_audit
from club.staff.passwords import list_staff, set_password
from console.auth.context import SESSIONS, require
from console.i18n import translator
from console.render import page_language, render


async def staff_page(request: web.Request, *, error: str | None = None) -> web.Response:
    require(request, Permission.MANAGE_STAFF)
    now = request.app[DEPS].clock.now()
    accounts = await list_staff()
    return await render(
        request,
        "staff.html",
        {"accounts": accounts, "error": error, "now": now},
        status=422 if error else 200,
    )


async def staff_list(request: web.Request) -> web.StreamResponse:
    return await staff_page(request)


async def staff_password(request: web.Request) -> web.StreamResponse:
    user = require(request, Permission.MANAGE_STAFF)
    form = await request.post()
    name = str(form.get("name", ""))
    password = str(form.get("password", ""))
    now = request.app[DEPS].clock.now()
    _ = translator(page_language(request))
    try:
        target = await set_password(name, password, now=now)
    except StaffError as exc:
        await record_audit(
            user.staff,
            action="staff.password",
            target=f"staff_name:{name[:64]}",
            status=422,
            summary={"via": "console", "refused": str(exc)},
            now=now,
        )
        return await staff_page(request, error=str(exc))
    await record_audit(
        user.staff,
        action="staff.password",
        target=f"staff:{target.id}",
        status=200,
        summary={"via": "console", "name": target.name},
        now=now,
    )
    await request.app[SESSIONS].push_flash(user.session, _("password_set", name=target.name))
    raise web.HTTPSeeOther("/console/staff")
