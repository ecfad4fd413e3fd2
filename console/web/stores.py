"""Stores and their channel levels: the list (by status and level), create, rename or move to
another level, close and reopen, import a CSV file. Each change runs the stores API's endpoint
(same role check, validation, level history and audit, via: console); clerks read the list."""

from __future__ import annotations

from aiohttp import web

from bot.staff_api.endpoint import MAX_CSV_BYTES
from bot.staff_api.errors import ApiError
from club.rules.channels import STORE_LEVELS
from club.staff.accounts import Permission
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.render import page_language, render
from console.web.actions import act, optional_text, text, uploaded

STATUSES = ("open", "closed")
SHOWN = 200
"""Stores a page lists (each with its form); the filters narrow a longer list."""
LEVELS = tuple(level.value for level in STORE_LEVELS)
ID_PATTERN = r"[A-Za-z0-9_\-]{1,32}"
"""The store code as the API takes it, in the form the browser's pattern attribute reads."""


async def stores_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    require(request, Permission.READ_STORES)
    query = {
        k: request.query[k]
        for k in ("status", "channel_level")
        if request.query.get(k) in (*STATUSES, *LEVELS)
    }
    found = (await act(request, "listStores", {}, query=query)).model_dump()["stores"]
    by_level = {lv: sum(1 for s in found if s["channel_level"] == lv) for lv in LEVELS}
    return await render(
        request,
        "stores.html",
        {
            "stores": found[:SHOWN],
            "total": len(found),
            "levels": LEVELS,
            "by_level": by_level,
            "q": query,
            "statuses": STATUSES,
            "error": error,
            "id_pattern": ID_PATTERN,
            "upload_mib": MAX_CSV_BYTES // 2**20,
        },
        status=status,
    )


async def stores_list(request: web.Request) -> web.StreamResponse:
    return await stores_page(request)


async def _done(request: web.Request, note: str) -> web.StreamResponse:
    await request.app[SESSIONS].push_flash(current_user(request).session, note)
    return see_other("/console/stores")


async def create_store(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_STORES)
    form = await request.post()
    _ = translator(page_language(request))
    body = {
        "id": text(form, "id"),
        "name": text(form, "name"),
        "channel_level": text(form, "channel_level"),
        "region": optional_text(form, "region"),
    }
    try:
        done = (await act(request, "createStore", body)).model_dump()
    except ApiError as exc:
        return await stores_page(request, error=exc.message, status=exc.status)
    return await _done(request, _("store_created", id=done["id"], name=done["name"]))


async def update_store(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_STORES)
    form = await request.post()
    _ = translator(page_language(request))
    store_id = request.match_info["store_id"]
    body: dict[str, object] = {}
    if text(form, "name"):
        body["name"] = text(form, "name")
    if text(form, "channel_level"):
        body["channel_level"] = text(form, "channel_level")
    try:
        await act(request, "updateStore", body, keys={"store_id": store_id})
    except ApiError as exc:
        return await stores_page(request, error=exc.message, status=exc.status)
    return await _done(request, _("store_updated", id=store_id))


async def set_status(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_STORES)
    await request.post()
    _ = translator(page_language(request))
    store_id = request.match_info["store_id"]
    action = request.match_info["action"]
    if action not in ("close", "reopen"):
        raise web.HTTPNotFound()
    operation = "closeStore" if action == "close" else "reopenStore"
    try:
        await act(request, operation, {}, keys={"store_id": store_id})
    except ApiError as exc:
        return await stores_page(request, error=exc.message, status=exc.status)
    note = "store_closed_note" if action == "close" else "store_reopened"
    return await _done(request, _(note, id=store_id))


async def import_stores(request: web.Request) -> web.StreamResponse:
    """The stores of an uploaded CSV, by the API's own import: one transaction, so a bad line
    (named in the error) leaves every store as it was."""
    require(request, Permission.MANAGE_STORES)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        done = await act(request, "importStores", {}, upload=uploaded(form, "file"))
    except ApiError as exc:
        return await stores_page(request, error=exc.message, status=exc.status)
    result = done.model_dump()
    note = _(
        "stores_imported", created=len(result["created"]), updated=len(result["updated"]),
        unchanged=result["unchanged"],
    )  # fmt: skip
    return await _done(request, note)
