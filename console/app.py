"""Wiring the console into an aiohttp app: templates, middleware, session store, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.deps import DEPS
from console.auth import views as auth_views
from console.auth.context import SESSIONS
from console.auth.guard import console_guard, on_prepare
from console.auth.sessions import SessionStore
from console.filters import FILTERS
from console.render import JINJA
from console.web import actions, routes

STATIC_DIR = Path(__file__).parent / "static"


def setup(app: web.Application) -> None:
    """Add the console to `app` before it starts (after `create_app` has added its parts)."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("console", "templates"),
        app_key=JINJA,
        autoescape=True,
        filters=FILTERS,
        default_helpers=False,
        undefined=jinja2.StrictUndefined,
    )
    # Chart data in pages keeps Chinese as characters (`tojson` still escapes <, >, & and ').
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    app.middlewares.append(console_guard)
    app.on_response_prepare.append(on_prepare)

    async def sessions(app: web.Application) -> AsyncIterator[None]:
        # After the resources: the store is the app's shared one (Redis in production).
        app[SESSIONS] = SessionStore(app[DEPS].store)
        yield

    app.cleanup_ctx.append(sessions)
    actions.register(app)
    auth_views.add_routes(app)
    routes.add_routes(app)
    app.router.add_static("/console/static", STATIC_DIR)
