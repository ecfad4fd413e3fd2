"""`/console`: the dashboard for those who may read it, the member search for everyone else."""

from __future__ import annotations

from aiohttp import web

from club.staff.accounts import Permission
from console.auth.context import current_user
from console.render import render


async def home(request: web.Request) -> web.StreamResponse:
    if not current_user(request).can(Permission.READ_DASHBOARD):
        raise web.HTTPSeeOther("/console/members")
    return await render(request, "dashboard.html", {})
