"""The web app: wires the process's resources, routes and middlewares.

Nothing happens at import time. Resources live in `cleanup_ctx` generators (create, yield,
dispose), so a test builds a fresh app and tears it down completely. The chat's routers and
texts are given by the caller (the composition root, `clubbot.web`): the transport does not
know the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from bot import health
from bot.callback import setup_callback
from bot.deps import DEPS
from bot.forwarded import forwarded_client
from bot.kv import Redis
from bot.limits import MAX_BODY_BYTES
from bot.resources import open_resources
from bot.router import Dispatcher, Texts
from bot.staff_api import setup_staff_api
from club.clock import Clock
from config import Settings

log = logging.getLogger(__name__)

BackgroundService = Callable[[web.Application], AsyncIterator[None]]
"""A `cleanup_ctx` generator started after the resources (app[DEPS] is set) and stopped first."""


def create_app(
    settings: Settings,
    *,
    dispatcher: Dispatcher,
    texts: Texts,
    clock: Clock | None = None,
    store: Redis | None = None,
    create_schema: bool | None = None,
    background: Sequence[BackgroundService] = (),
) -> web.Application:
    """Build the service. `store` may be injected (tests share one fake between apps)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with open_resources(
            settings, clock=clock, store=store, create_schema=create_schema
        ) as deps:
            app[DEPS] = deps
            yield

    app.cleanup_ctx.append(resources)
    if settings.trusted_proxy_addresses:
        # Outside every other middleware: they, and the handlers, see the client, not nginx.
        app.middlewares.append(forwarded_client(settings.trusted_proxy_addresses))
    # In-process services, e.g. the scheduler in embedded mode (`clubbot.embedded`).
    app.cleanup_ctx.extend(background)
    health.setup(app)
    setup_staff_api(app)
    setup_callback(app, settings, dispatcher=dispatcher, texts=texts)
    return app
