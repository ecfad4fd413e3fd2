"""The club programme the staff API reads tier names and rates from, loaded at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.deps import DEPS
from club.programme.loader import load_programme
from club.rules.programme import Programme

PROGRAMME = web.AppKey("staff_api_programme", Programme)


async def load_at_startup(app: web.Application) -> AsyncIterator[None]:
    """A `cleanup_ctx` step after the resources: a bad CLUB_CONFIG stops start-up, not a request."""
    app[PROGRAMME] = load_programme(app[DEPS].settings.club_config)
    yield
