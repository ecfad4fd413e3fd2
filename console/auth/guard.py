"""The middleware in front of every console page: session, account, CSRF, headers.

Pages other than sign-in and the language switch need a live session of an active account whose
password has not changed since; otherwise the browser is sent to sign in. Every POST must carry
the session's CSRF token in its form. Every answer under /console forbids framing and caching
and allows scripts from our own origin only (the charts' library is served by us).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from bot.deps import DEPS
from bot.staff_api.endpoint import MAX_CSV_BYTES
from bot.staff_api.errors import Handler
from club.staff.passwords import console_account
from console.auth.context import (
    CONSOLE_USER,
    SESSION_COOKIE,
    SESSIONS,
    ConsoleUser,
    Refused,
    clear_cookie,
    see_other,
)
from console.auth.sessions import tokens_match
from console.render import render

log = logging.getLogger(__name__)

PREFIX = "/console"
STATIC_PREFIX = "/console/static/"
PUBLIC = frozenset({"/console/login"})
PUBLIC_PREFIXES = ("/console/lang/", STATIC_PREFIX)
CSRF_FIELD = "csrf_token"
UPLOAD_MAX = MAX_CSV_BYTES + 64 * 1024
"""How much of a form with a file (multipart: the stores' CSV) is read: the largest file an
endpoint takes and room for the other fields. Every other form keeps the app's limit (64 KiB).
Only a signed-in account gets this far."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def sign_in_url(request: web.Request) -> str:
    return f"{PREFIX}/login?next={quote(request.path_qs, safe='/')}"


@web.middleware
async def console_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console(request.path):
        return await handler(request)
    if request.path.startswith(STATIC_PREFIX):
        return await handler(request)
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:
            _headers(exc, request)
            raise
        response = await render(
            request, "error.html", {"status": exc.status, "reason": exc.reason}, status=exc.status
        )
    _headers(response, request)
    return response


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """The same headers on an answer streamed before the middleware sees it (a CSV download)."""
    if is_console(request.path):
        _headers(response, request)


def _headers(response: web.StreamResponse, request: web.Request) -> None:
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith(STATIC_PREFIX):
        response.headers["Cache-Control"] = "no-store"


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC or request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    now = request.app[DEPS].clock.now()
    sessions = request.app[SESSIONS]
    session = await sessions.load(request.cookies.get(SESSION_COOKIE), now)
    if session is None:
        raise web.HTTPSeeOther(sign_in_url(request))
    account = await console_account(session.staff_id)
    if (
        account is None
        or not account.active
        or session.password_stamp is None
        or session.password_stamp != account.password_stamp
    ):
        await sessions.revoke(session)
        response = see_other(sign_in_url(request))
        clear_cookie(response, SESSION_COOKIE)
        return response
    user = ConsoleUser(staff=account.staff, session=session)
    request[CONSOLE_USER] = user
    if request.method != "POST":
        return await _page(request, handler)
    upload = request.content_type == "multipart/form-data"
    if upload:
        # aiohttp takes the body limit from the request: a copy with the upload's limit reads
        # the form and goes on to the page.
        request = request.clone(client_max_size=UPLOAD_MAX)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        if not upload:
            raise
        mib = MAX_CSV_BYTES // 2**20
        return await render(request, "error.html", {"status": 413, "mib": mib}, status=413)
    try:
        sent = form.get(CSRF_FIELD)
        if not tokens_match(sent, session.csrf):
            log.warning("console: POST without a valid CSRF token to %s", request.path)
            return await render(
                request, "error.html", {"status": 403, "csrf_refused": True}, status=403
            )
        return await _page(request, handler)
    finally:
        # An uploaded file is spooled to a temporary file; read or not, it goes now.
        for value in form.values():
            if isinstance(value, web.FileField):
                value.file.close()


async def _page(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as exc:
        return await render(
            request,
            "error.html",
            {"status": 403, "permission": exc.permission, "note": exc.note},
            status=403,
        )
