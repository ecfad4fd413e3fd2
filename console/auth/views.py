"""Sign in, sign out, and the language switch.

The sign-in form has no session yet, so its CSRF token is a double submit: a random value in an
HttpOnly cookie and the same value in the form. Every attempt on a known account is audited
(`console.signin` with the outcome), and so is every sign-out.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.deps import DEPS
from club.staff.accounts import Permission, StaffIdentity, can, record_audit
from club.staff.passwords import MAX_FAILURES, SignInOutcome, sign_in
from console.auth.context import (
    LANG_COOKIE,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    SESSIONS,
    clear_cookie,
    current_user,
    see_other,
    set_cookie,
)
from console.auth.sessions import IDLE_TTL_S, is_token, new_token, tokens_match
from console.i18n import LANGUAGES, translator
from console.render import page_language, render

log = logging.getLogger(__name__)

PRE_SESSION_TTL_S = 3600
LANG_TTL_S = 365 * 24 * 3600
_STATUS = {SignInOutcome.OK: 200, SignInOutcome.WRONG: 401, SignInOutcome.LOCKED: 423}


def safe_next(value: str | None, fallback: str = "/console") -> str:
    """Only a path of ours: `//host` or `https://...` would send the browser elsewhere."""
    if not value or not value.startswith("/console") or value.startswith("//"):
        return fallback
    if "\\" in value or any(ord(c) < 32 for c in value):
        return fallback
    return value


def home_for(staff: StaffIdentity) -> str:
    if can(staff.role, Permission.READ_DASHBOARD):
        return "/console"
    return "/console/members"


async def _form(
    request: web.Request, *, error: str | None, status: int, name: str = ""
) -> web.Response:
    token = request.cookies.get(PRE_SESSION_COOKIE)
    if token is None or not is_token(token):
        token = new_token()
    response = await render(
        request,
        "login.html",
        {
            "error": error,
            "next": safe_next(request.query.get("next"), ""),
            "name": name,
        },
        status=status,
        csrf=token,
    )
    set_cookie(request, response, PRE_SESSION_COOKIE, token, max_age=PRE_SESSION_TTL_S)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    return await _form(request, error=None, status=200)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    sent = form.get("csrf_token")
    expected = request.cookies.get(PRE_SESSION_COOKIE)
    if not tokens_match(sent, expected):
        log.warning("console: sign-in form without a valid CSRF token from %s", request.remote)
        return await render(
            request, "error.html", {"status": 403, "csrf_refused": True}, status=403
        )
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    deps = request.app[DEPS]
    now = deps.clock.now()
    result = await sign_in(name, password, now=now)
    if result.staff is not None:
        summary: dict[str, object] = {"via": "console", "outcome": result.outcome.value}
        if result.outcome is SignInOutcome.WRONG:
            summary["failures"] = result.failures
        if result.locked_until is not None:
            summary["locked_until"] = result.locked_until.isoformat()
        await record_audit(
            result.staff,
            action="console.signin",
            target=f"staff:{result.staff.id}",
            status=_STATUS[result.outcome],
            summary=summary,
            now=now,
        )
    else:
        log.warning("console: sign-in for no such account from %s", request.remote)
    if result.outcome is SignInOutcome.LOCKED and result.locked_until is not None:
        until = result.locked_until.astimezone(deps.settings.tz).strftime("%H:%M")
        return await _form(
            request, error=_t(request, "login_locked", until=until), status=423, name=name
        )
    if result.outcome is not SignInOutcome.OK or result.staff is None:
        return await _form(
            request, error=_t(request, "login_wrong", n=MAX_FAILURES), status=401, name=name
        )
    token, _ = await request.app[SESSIONS].create(result.staff.id, result.password_stamp, now)
    response = see_other(safe_next(request.query.get("next"), home_for(result.staff)))
    set_cookie(request, response, SESSION_COOKIE, token, max_age=IDLE_TTL_S)
    clear_cookie(response, PRE_SESSION_COOKIE)
    return response


def _t(request: web.Request, key: str, **values: object) -> str:
    return translator(page_language(request))(key, **values)


async def logout(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    await request.app[SESSIONS].revoke(user.session)
    now = request.app[DEPS].clock.now()
    await record_audit(
        user.staff,
        action="console.signout",
        target=f"staff:{user.staff.id}",
        status=200,
        summary={"via": "console"},
        now=now,
    )
    response = see_other("/console/login")
    clear_cookie(response, SESSION_COOKIE)
    return response


async def switch_language(request: web.Request) -> web.StreamResponse:
    """A preference only (no account is changed), so a plain link switches it."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound()
    response = see_other(safe_next(request.query.get("next")))
    set_cookie(request, response, LANG_COOKIE, lang, max_age=LANG_TTL_S)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/login", login_form)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    app.router.add_get("/console/lang/{lang}", switch_language)
