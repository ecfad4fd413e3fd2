"""`python -m bot staff add NAME --role admin|marketer|clerk`: create an account, show its token.

The token is returned (and printed by the command) once; only its hash is stored, so a lost token
means a new account, never a recovery.
"""

from __future__ import annotations

import asyncio

from club.clock import SystemClock
from club.db.connect import database
from club.staff import create_staff
from config import Settings


async def _add(settings: Settings, name: str, role: str, *, create_schema: bool) -> str:
    now = SystemClock(settings.tz).now()
    async with database(
        settings.database_url, timezone=settings.club_tz, create_schema=create_schema
    ):
        _, token = await create_staff(name, role, now=now)
    return token


def staff_add(
    settings: Settings, name: str, role: str, *, create_schema: bool | None = None
) -> str:
    """Create the account and return its bearer token. Raises `club.staff.StaffError`.

    The embedded demo builds missing tables itself (as the server does); production expects its
    migrations to have been applied.
    """
    if create_schema is None:
        create_schema = settings.embedded
    return asyncio.run(_add(settings, name, role, create_schema=create_schema))
