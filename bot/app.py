"""The app factory: wires configuration, resources, routes and middlewares.

Nothing happens at import time. Resources live in `cleanup_ctx` generators (create, yield,
dispose), so a test builds a fresh app and tears it down completely.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
from aiohttp import web

from bot import health
from bot.callback import setup_callback
from bot.deps import DEPS, Deps
from bot.kv import Redis, open_store
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.staff_api import setup_staff_api
from bot.wechat.api import WeChatAPI
from club.clock import Clock, SystemClock
from club.db.migrate import open_database
from club.programme.loader import load_programme
from config import Settings

log = logging.getLogger(__name__)

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)

BackgroundService = Callable[[web.Application], AsyncIterator[None]]
"""A `cleanup_ctx` generator started after the resources (app[DEPS] is set) and stopped first."""


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Redis | None = None,
    create_schema: bool | None = None,
    background: Sequence[BackgroundService] = (),
) -> web.Application:
    """Build the service. `store` may be injected (tests share one fake between apps)."""
    app = web.Application(client_max_size=64 * 1024)
    clock = clock or SystemClock(settings.tz)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        programme = load_programme(settings.club_config)  # a bad CLUB_CONFIG stops start-up
        kv = store if store is not None else open_store(settings)
        async with (
            open_database(
                settings.database_url,
                timezone=settings.club_tz,
                embedded=settings.embedded,
                create_schema=create_schema,
            ),
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
        ):
            metrics = Metrics()
            wechat = WeChatAPI(http=http, store=kv, settings=settings, metrics=metrics)
            outbox = Outbox(api=wechat, settings=settings, clock=clock)
            app[DEPS] = Deps(
                settings=settings,
                clock=clock,
                store=kv,
                http=http,
                metrics=metrics,
                wechat=wechat,
                outbox=outbox,
                programme=programme,
            )
            try:
                yield
            finally:
                if store is None:
                    await kv.aclose()

    app.cleanup_ctx.append(resources)
    # In-process services, e.g. the scheduler in embedded mode (see bot.serve).
    app.cleanup_ctx.extend(background)
    health.setup(app)
    setup_staff_api(app)
    setup_callback(app, settings)
    return app
