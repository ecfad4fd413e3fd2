"""The scheduler and its sender inside the web process: embedded mode only.

There is one process, so no other scheduler can run the same jobs. Production runs
`python -m scheduler` instead (safe on several hosts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.app import BackgroundService
from bot.deps import DEPS
from config import Settings
from scheduler.app import start_embedded


async def in_process_scheduler(app: web.Application) -> AsyncIterator[None]:
    """A `cleanup_ctx` service: the scheduler for the app's lifetime, on its resources."""
    running = await start_embedded(app[DEPS])
    try:
        yield
    finally:
        await running.stop()


def embedded_services(settings: Settings) -> list[BackgroundService]:
    """What `python -m bot` runs in-process besides the web app."""
    return [in_process_scheduler] if settings.embedded else []
