"""The staff API: `/api/v1/...` behind bearer tokens, and its OpenAPI document.

`setup_staff_api(app)` adds the middlewares, the routes of every feature module and
`GET /api/openapi.json`; the document is built from the same endpoint table as the routes.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.deps import DEPS
from bot.jsontext import json_response
from bot.staff_api import (
    accounts,
    audit,
    campaigns,
    codes,
    counter,
    data_rights,
    jobs,
    members,
    points,
    purchases,
    reports,
    reviews,
    rewards,
    segments,
    service,
    staff,
    stores,
    tiers,
    vouchers,
)
from bot.staff_api.auth import api_auth
from bot.staff_api.endpoint import Endpoint, register
from bot.staff_api.errors import api_errors
from bot.staff_api.openapi import build_document, name_tier_codes
from bot.staff_api.seeding import seed_catalogue

API_VERSION = "1.0.0"
OPENAPI_PATH = "/api/openapi.json"
DOCUMENT = web.AppKey("staff_api_openapi", dict[str, Any])


def endpoints() -> list[Endpoint]:
    return [
        *purchases.ENDPOINTS,
        *counter.ENDPOINTS,
        *members.ENDPOINTS,
        *points.ENDPOINTS,
        *tiers.ENDPOINTS,
        *codes.ENDPOINTS,
        *rewards.ENDPOINTS,
        *stores.ENDPOINTS,
        *staff.ENDPOINTS,
        *vouchers.ENDPOINTS,
        *data_rights.ENDPOINTS,
        *reviews.ENDPOINTS,
        *audit.ENDPOINTS,
        *segments.ENDPOINTS,
        *campaigns.ENDPOINTS,
        *reports.ENDPOINTS,
        *accounts.ENDPOINTS,
        *service.ENDPOINTS,
        *jobs.ENDPOINTS,
    ]


@functools.cache
def _document() -> dict[str, Any]:
    """The document of the endpoint table, built once a process: pydantic's schemas of every
    model take about 50 ms, which each app a test builds paid again. Never changed in place
    (`name_tier_codes` copies what it changes)."""
    return build_document(endpoints(), version=API_VERSION)


def setup_staff_api(app: web.Application) -> None:
    table = endpoints()
    # Errors outermost, so a refused token also answers in the API's error shape.
    app.middlewares.append(api_errors)
    app.middlewares.append(api_auth)
    register(app, table)
    document = _document()

    async def with_programme(app: web.Application) -> AsyncIterator[None]:
        # Tier codes come from the programme, known only once it is loaded.
        deps = app[DEPS]
        app[DOCUMENT] = name_tier_codes(document, deps.programme.tiers.codes)
        yield

    app.cleanup_ctx.append(with_programme)
    # The programme's starting catalogue, so `兑换` shows something on a fresh machine.
    app.cleanup_ctx.append(seed_catalogue)

    async def openapi(request: web.Request) -> web.Response:
        return json_response(request.app[DOCUMENT])

    app.router.add_get(OPENAPI_PATH, openapi)


__all__ = ["OPENAPI_PATH", "setup_staff_api"]
