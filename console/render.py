"""Rendering a console page: the template plus what every page shows (who, language, menu)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.deps import DEPS
from club.staff.accounts import Permission
from console.auth.context import CONSOLE_USER, LANG_COOKIE, SESSIONS, ConsoleUser
from console.i18n import language, translator

JINJA = web.AppKey("console_jinja", jinja2.Environment)


@dataclass(frozen=True)
class NavItem:
    key: str
    """The text key of its label."""
    href: str
    permission: Permission


NAV = (
    NavItem("nav_dashboard", "/console", Permission.READ_DASHBOARD),
    NavItem("nav_members", "/console/members", Permission.READ_MEMBER),
    NavItem("nav_purchases", "/console/purchases", Permission.RECORD_PURCHASE),
    NavItem("nav_rewards", "/console/rewards", Permission.READ_REWARDS),
    NavItem("nav_campaigns", "/console/campaigns", Permission.MANAGE_CAMPAIGNS),
    NavItem("nav_reports", "/console/reports", Permission.READ_REPORTS),
    NavItem("nav_tickets", "/console/tickets", Permission.HANDLE_TICKETS),
    NavItem("nav_key_customers", "/console/key-customers", Permission.HANDLE_TICKETS),
    NavItem("nav_stores", "/console/stores", Permission.READ_STORES),
    NavItem("nav_codes", "/console/codes", Permission.ISSUE_CODES),
    NavItem("nav_programme", "/console/programme", Permission.READ_PROGRAMME),
    NavItem("nav_jobs", "/console/jobs", Permission.READ_JOBS),
    NavItem("nav_staff", "/console/staff", Permission.MANAGE_STAFF),
)


def page_language(request: web.Request) -> str:
    return language(request.cookies.get(LANG_COOKIE))


async def render(
    request: web.Request,
    template: str,
    context: Mapping[str, object] | None = None,
    *,
    status: int = 200,
    csrf: str | None = None,
) -> web.Response:
    lang = page_language(request)
    user: ConsoleUser | None = request.get(CONSOLE_USER)
    flashes: list[str] = []
    if user is not None:
        flashes = await request.app[SESSIONS].pop_flashes(user.session)
    values: dict[str, object] = {
        "_": translator(lang),
        "lang": lang,
        "user": user,
        "csrf": csrf if csrf is not None else (user.session.csrf if user else ""),
        "nav": [n for n in NAV if user is not None and user.can(n.permission)],
        "path": request.path,
        "path_qs": request.path_qs,
        "flashes": flashes,
        "P": Permission,
        "tz": request.app[DEPS].settings.tz,
    }
    values.update(context or {})
    return aiohttp_jinja2.render_template(template, request, values, app_key=JINJA, status=status)
