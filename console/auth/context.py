"""What the guard hands a page: the signed-in account and its session; cookies and HTTPS."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.deps import DEPS
from club.staff.accounts import Permission, StaffIdentity, can
from console.auth.sessions import Session, SessionStore

SESSION_COOKIE = "clubbot_console"
PRE_SESSION_COOKIE = "clubbot_console_pre"
"""The sign-in form's CSRF token before there is a session (double submit)."""
LANG_COOKIE = "clubbot_console_lang"
COOKIE_PATH = "/console"


@dataclass(frozen=True)
class ConsoleUser:
    staff: StaffIdentity
    session: Session

    def can(self, permission: Permission) -> bool:
        return can(self.staff.role, permission)


CONSOLE_USER = web.RequestKey("console_user", ConsoleUser)
SESSIONS = web.AppKey("console_sessions", SessionStore)


class Refused(Exception):
    """The signed-in role may not do this (answered 403 with a page saying so: the text `note`
    names, else that the role may not)."""

    def __init__(self, permission: Permission, note: str | None = None) -> None:
        super().__init__(permission.value)
        self.permission = permission
        self.note = note


def current_user(request: web.Request) -> ConsoleUser:
    return request[CONSOLE_USER]


def require(request: web.Request, permission: Permission) -> ConsoleUser:
    user = request[CONSOLE_USER]
    if not user.can(permission):
        raise Refused(permission)
    return user


def came_over_https(request: web.Request) -> bool:
    """HTTPS to us, or to a proxy we trust that says so in X-Forwarded-Proto.

    Anyone can send the header: it counts only from an address in TRUSTED_PROXIES.
    """
    if request.secure:
        return True
    trusted = request.app[DEPS].settings.trusted_proxy_addresses
    if request.remote is None or request.remote not in trusted:
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    # A chain of proxies appends: the first value is what the browser used.
    return forwarded.split(",")[0].strip().lower() == "https"


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=came_over_https(request),
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=COOKIE_PATH)


def see_other(location: str) -> web.Response:
    """A redirect after a form (303), as a response that can carry cookies."""
    return web.Response(status=303, headers={"Location": location})
