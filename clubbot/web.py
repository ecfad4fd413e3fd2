"""The web service as deployed: the transport with the chat's handlers and texts, and the staff
console."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

import console
from bot.app import BackgroundService
from bot.app import create_app as create_transport
from bot.kv import Redis
from bot.router import Dispatcher
from club.clock import Clock
from config import Settings
from handlers import routers
from handlers.texts import t


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Redis | None = None,
    create_schema: bool | None = None,
    background: Sequence[BackgroundService] = (),
) -> web.Application:
    """The whole web app: callback, chat handlers, staff API, staff console, health, metrics."""
    app = create_transport(
        settings,
        dispatcher=Dispatcher(routers()),
        texts=t,
        clock=clock,
        store=store,
        create_schema=create_schema,
        background=background,
    )
    console.setup(app)
    return app
