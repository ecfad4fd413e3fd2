"""`python -m bot staff add NAME --role admin|marketer|clerk`: create an account, show its token.

The token is returned (and printed by the command) once; only its hash is stored, so a lost token
means a new account, never a recovery.
"""

from __future__ import annotations

import asyncio

from club.clock import SystemClock
from club.db.migrate import open_database
from club.staff.accounts import create_staff
from config import Settings


async def _add(settings: Settings, name: str, role: str, *, create_schema: bool | None) -> str:
    now = SystemClock(settings.tz).now()
    async with open_database(
        settings.database_url,
        timezone=settings.club_tz,
        embedded=settings.embedded,
        create_schema=create_schema,
    ):
        _, token = await create_staff(name, role, now=now)
    return token


def staff_add(
    settings: Settings, name: str, role: str, *, create_schema: bool | None = None
) -> str:
    """Create the account and return its bearer token. Raises `club.staff.accounts.StaffError`.

    The embedded demo applies the migrations itself (as the server does); production expects
    `python -m bot migrate` to have run.
    """
    return asyncio.run(_add(settings, name, role, create_schema=create_schema))
