"""`python -m bot staff add NAME --role admin|marketer|clerk`: create an account, show its token;
`python -m bot staff passwd NAME`: set its password for the staff console.

The token is returned (and printed by the command) once; only its hash is stored, so a lost token
means a new account, never a recovery.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from club.clock import SystemClock
from club.db.migrate import open_database
from club.staff.accounts import StaffError, create_staff
from club.staff.passwords import set_password
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


async def _passwd(
    settings: Settings, name: str, password: str, *, create_schema: bool | None
) -> None:
    now = SystemClock(settings.tz).now()
    async with open_database(
        settings.database_url,
        timezone=settings.club_tz,
        embedded=settings.embedded,
        create_schema=create_schema,
    ):
        await set_password(name, password, now=now)


def staff_passwd(
    settings: Settings, name: str, password: str, *, create_schema: bool | None = None
) -> None:
    """Set an account's console password (its open console sessions end). Raises StaffError."""
    asyncio.run(_passwd(settings, name, password, create_schema=create_schema))


def read_new_password() -> str:
    """Asked twice at a terminal; from a pipe, the first line (for scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass("new console password: ")
        if getpass.getpass("again: ") != first:
            raise StaffError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_staff_passwd(args: argparse.Namespace) -> int:
    """`python -m bot staff passwd NAME`: set the account's console password."""
    from bot.logs import setup_logging
    from bot.serve import prepare_sqlite_file

    settings = Settings.from_env()
    setup_logging(settings)
    prepare_sqlite_file(settings.database_url)
    try:
        staff_passwd(settings, args.name, read_new_password())
    except StaffError as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return 1
    print(f"console password of {args.name!r} set; its open console sessions have ended")
    return 0
