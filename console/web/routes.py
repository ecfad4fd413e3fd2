"""Every console page's route, in one table."""

from __future__ import annotations

from aiohttp import web

from console.web import home, staff


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console", home.home)
    app.router.add_get("/console/staff", staff.staff_list)
    app.router.add_post("/console/staff/password", staff.staff_password)
