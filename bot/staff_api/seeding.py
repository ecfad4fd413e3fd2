"""The programme's starting catalogue (`[[rewards]]`), created when the server starts.

Rewards missing from the database are created (`club.rewards.catalogue.seed_rewards`); existing
ones are never touched, so the database stays the one truth for stock and price. The server must
start even while the database is down (it answers 503 until it is back): seeding is given a few
seconds at start-up, and when the database is not there it is retried in the background, with a
growing pause, until it succeeds or the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.deps import DEPS, Deps
from club.rewards.catalogue import seed_rewards

log = logging.getLogger(__name__)

FIRST_TRY_S = 5.0
RETRY_S = (5.0, 15.0, 60.0, 300.0)


async def _seed(deps: Deps) -> None:
    created = await seed_rewards(deps.programme, deps.clock.now())
    if created:
        log.info("programme rewards created: %d", created)


async def _retry(deps: Deps) -> None:
    for attempt in range(10_000):
        await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
        try:
            await _seed(deps)
        except Exception as exc:  # the database is still away: try again later
            log.warning("programme rewards not created yet (%s); retrying", type(exc).__name__)
            continue
        return


async def seed_catalogue(app: web.Application) -> AsyncIterator[None]:
    """A `cleanup_ctx` step after the resources are open."""
    deps = app[DEPS]
    retry: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(_seed(deps), FIRST_TRY_S)
    except Exception as exc:
        log.warning(
            "programme rewards not created at start-up (%s); retrying in the background",
            type(exc).__name__,
        )
        retry = asyncio.create_task(_retry(deps))
    yield
    if retry is not None:
        retry.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retry
