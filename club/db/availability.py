"""Is the database answering? One trivial query, bounded in time.

Asked when something failed in a way nobody planned for: a handler or a staff API view raised,
and the caller must tell "our bug" (an apology, a 500) from "the database is out of reach" (a
503, so the caller retries once it is back). Asking the database is simpler and surer than
reading the exception: a refused connection, a server shutting down, a connection reset mid-query
and a pool that cannot connect all reach us as different types from asyncpg, the OS or tortoise.
"""

from __future__ import annotations

import asyncio
import logging

from tortoise import Tortoise

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0
"""Long enough for a query on a loaded but healthy server, short enough to fit, after a failed
handler, inside WeChat's 5-second wait."""


async def database_answers() -> bool:
    """True when `SELECT 1` succeeds within `PROBE_TIMEOUT_S`."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception as exc:  # any failure to answer is "not answering"
        log.debug("database probe failed: %s", type(exc).__name__)
        return False
    return True
