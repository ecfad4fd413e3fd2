"""Every console page's route, in one table."""

from __future__ import annotations

from aiohttp import web

from console.web import home, members, programme, purchases, staff


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console", home.home)
    app.router.add_get("/console/members", members.search)
    app.router.add_get("/console/members/{id}", members.show)
    app.router.add_post("/console/members/{id}/adjust", members.adjust)
    app.router.add_post("/console/members/{id}/tier-floor", members.set_floor)
    app.router.add_post("/console/members/{id}/purchase", members.purchase)
    app.router.add_get("/console/purchases", purchases.till)
    app.router.add_post("/console/purchases", purchases.record_purchase)
    app.router.add_post("/console/returns", purchases.record_return)
    app.router.add_get("/console/rewards", programme.rewards_page)
    app.router.add_post("/console/rewards", programme.create_reward)
    app.router.add_get("/console/codes", programme.codes_page)
    app.router.add_post("/console/codes", programme.generate_codes)
    app.router.add_get("/console/codes/{id}.csv", programme.download_codes)
    app.router.add_get("/console/programme", programme.programme_page)
    app.router.add_get("/console/staff", staff.staff_list)
    app.router.add_post("/console/staff/password", staff.staff_password)
