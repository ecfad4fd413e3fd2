"""Bearer-token authentication for /api/v1 and the role check each endpoint declares."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from bot.deps import DEPS
from bot.staff_api.errors import ApiError, Handler
from club.staff.accounts import Permission, StaffIdentity, TokenExpired, authenticate, can

log = logging.getLogger(__name__)

API_V1_PREFIX = "/api/v1/"
STAFF = web.RequestKey("staff", StaffIdentity)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="clubbot staff API"'}


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@web.middleware
async def api_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/v1 request needs a valid token, before routing says whether the route exists."""
    if not request.path.startswith(API_V1_PREFIX):
        return await handler(request)
    token = _bearer(request)
    if token is None:
        raise _unauthorised("an Authorization: Bearer <token> header is required")
    deps = request.app[DEPS]
    now = deps.clock.now()
    try:
        user = await authenticate(
            token, now=now, max_age=timedelta(days=deps.programme.staff.token_days)
        )
    except TokenExpired:
        raise _unauthorised("the bearer token has expired: an admin can rotate it") from None
    if user is None:
        # Never log the token; the address is enough to spot a guessing client.
        log.warning("staff API: bad token from %s for %s", request.remote, request.path)
        raise _unauthorised("the bearer token is not valid")
    request[STAFF] = user
    return await handler(request)


def _unauthorised(message: str) -> ApiError:
    error = ApiError(401, "unauthorised", message)
    error.headers = _CHALLENGE
    return error


def require(user: StaffIdentity, permission: Permission, action: str) -> None:
    if not can(user.role, permission):
        raise ApiError(403, "forbidden", f"the {user.role} role may not {action}")
