"""Every console page's route, in one table."""

from __future__ import annotations

from aiohttp import web

from console.web import (
    campaigns,
    home,
    jobs,
    key_customers,
    members,
    programme,
    purchases,
    qrcodes,
    reports,
    staff,
    stores,
    tickets,
)


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
    app.router.add_get("/console/jobs", jobs.jobs_page)
    app.router.add_get("/console/staff", staff.staff_list)
    app.router.add_post("/console/staff/password", staff.staff_password)
    app.router.add_get("/console/staff/{id}/qrcode", qrcodes.show)
    app.router.add_post("/console/staff/{id}/qrcode", qrcodes.make)
    app.router.add_get("/console/staff/{id}/qrcode.{format}", qrcodes.download)
    app.router.add_get("/console/campaigns", campaigns.campaigns_page)
    app.router.add_get("/console/campaigns/new", campaigns.new_campaign)
    app.router.add_post("/console/campaigns", campaigns.create_campaign)
    app.router.add_get("/console/campaigns/{id}", campaigns.show)
    app.router.add_get("/console/campaigns/{id}/progress", campaigns.progress_json)
    app.router.add_get("/console/campaigns/{id}/recipients.csv", campaigns.recipients_csv)
    app.router.add_post("/console/campaigns/{id}/bind", campaigns.bind_code)
    app.router.add_post("/console/campaigns/{id}/{action}", campaigns.action)
    app.router.add_post("/console/segments/count", campaigns.segment_count)
    app.router.add_get("/console/reports", reports.index)
    app.router.add_get("/console/reports/{name}.csv", reports.report_csv)
    app.router.add_get("/console/reports/{name}", reports.report_page)
    app.router.add_get("/console/tickets", tickets.queue)
    app.router.add_get("/console/key-customers", key_customers.neglected)
    app.router.add_post("/console/key-customers/{id}/contacts", key_customers.contact)
    app.router.add_get("/console/tickets/{id}", tickets.show)
    app.router.add_post("/console/tickets/{id}/answer", tickets.answer)
    app.router.add_post("/console/tickets/{id}/close", tickets.close)
    app.router.add_get("/console/stores", stores.stores_list)
    app.router.add_post("/console/stores", stores.create_store)
    app.router.add_post("/console/stores/import.csv", stores.import_stores)
    app.router.add_get("/console/stores/{store_id}/qrcode", qrcodes.show)
    app.router.add_post("/console/stores/{store_id}/qrcode", qrcodes.make)
    app.router.add_get("/console/stores/{store_id}/qrcode.{format}", qrcodes.download)
    app.router.add_post("/console/stores/{store_id}", stores.update_store)
    app.router.add_post("/console/stores/{store_id}/{action}", stores.set_status)
