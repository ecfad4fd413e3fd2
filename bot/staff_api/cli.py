"""`python -m bot staff add | list | revoke | rotate | passwd`: staff accounts from the server's
shell.

A token is printed once (by `add` and `rotate`); only its hash is stored, so a lost token means a
rotation, never a recovery. `passwd` sets the password of the staff console. Every change of a
token is written to the audit log as made by `cli` (staff id
0), as the staff API writes its own; `revoke` takes effect on the account's next request.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from club.clock import SystemClock
from club.db.migrate import open_database
from club.programme.source import load_programme
from club.staff import lifecycle
from club.staff.accounts import StaffError, create_staff, record_audit
from club.staff.passwords import set_password
from config import Settings

T = TypeVar("T")


def _run(
    settings: Settings,
    work: Callable[[datetime, timedelta], Awaitable[T]],
    *,
    create_schema: bool | None,
) -> T:
    now = SystemClock(settings.tz).now()
    max_age = timedelta(days=load_programme(settings.club_config).staff.token_days)

    async def inside() -> T:
        async with open_database(
            settings.database_url,
            timezone=settings.club_tz,
            embedded=settings.embedded,
            create_schema=create_schema,
        ):
            return await work(now, max_age)

    return asyncio.run(inside())


async def _audit(action: str, account: lifecycle.StaffAccount, now: datetime, **extra: Any) -> None:
    await record_audit(
        lifecycle.CLI, action=action, target=f"staff:{account.id}", status=200,
        summary={"name": account.name, **extra}, now=now,
    )  # fmt: skip


def staff_add(
    settings: Settings, name: str, role: str, *, create_schema: bool | None = None
) -> str:
    """Create the account and return its bearer token. Raises `club.staff.accounts.StaffError`.

    The embedded demo applies the migrations itself (as the server does); production expects
    `python -m bot migrate` to have run.
    """

    async def work(now: datetime, max_age: timedelta) -> str:
        user, token = await create_staff(name, role, now=now)
        await _audit("staff.create", await lifecycle.find_staff(user.id, max_age), now, role=role)
        return token

    return _run(settings, work, create_schema=create_schema)


def staff_list(
    settings: Settings, *, create_schema: bool | None = None
) -> tuple[datetime, list[lifecycle.StaffAccount]]:
    async def work(now: datetime, max_age: timedelta) -> tuple[datetime, list[Any]]:
        return now, await lifecycle.list_staff(max_age)

    return _run(settings, work, create_schema=create_schema)


def staff_revoke(
    settings: Settings, name: str, *, create_schema: bool | None = None
) -> tuple[lifecycle.StaffAccount, bool]:
    """Revoke at once; (account, whether it was active). StaffNotFound, LastAdmin."""

    async def work(now: datetime, max_age: timedelta) -> tuple[lifecycle.StaffAccount, bool]:
        account, changed = await lifecycle.revoke(name, now, max_age)
        await _audit("staff.revoke", account, now, changed=changed)
        return account, changed

    return _run(settings, work, create_schema=create_schema)


def staff_rotate(settings: Settings, name: str, *, create_schema: bool | None = None) -> str:
    """A new token for the account (the old one stops working at once). StaffNotFound."""

    async def work(now: datetime, max_age: timedelta) -> str:
        account, token = await lifecycle.rotate(name, now, max_age)
        await _audit("staff.rotate", account, now)
        return token

    return _run(settings, work, create_schema=create_schema)


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
    settings = _settings()
    try:
        staff_passwd(settings, args.name, read_new_password())
    except StaffError as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return 1
    print(f"console password of {args.name!r} set; its open console sessions have ended")
    return 0


# The command line -------------------------------------------------------------------------


def _stamp(at: datetime | None, settings: Settings) -> str:
    return at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if at else "-"


def run_list(args: argparse.Namespace) -> int:
    settings = _settings()
    now, accounts = staff_list(settings)
    print(f"{'NAME':24} {'ROLE':9} {'STATE':8} {'TOKEN EXPIRES':17} LAST USED")
    for a in accounts:
        print(
            f"{a.name:24} {a.role.value:9} {a.state(now):8} "
            f"{_stamp(a.token_expires_at, settings):17} {_stamp(a.last_used_at, settings)}"
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        account, changed = staff_revoke(settings, args.name)
    except (lifecycle.StaffNotFound, lifecycle.LastAdmin) as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return 1
    state = "revoked; its token is refused from now on" if changed else "was already revoked"
    print(f"staff account {account.name!r} {state}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        token = staff_rotate(settings, args.name)
    except lifecycle.StaffNotFound as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return 1
    print(f"staff account {args.name!r}: its old token no longer works; the new one, shown once:")
    print(token)
    return 0


def _settings() -> Settings:
    from bot.logs import setup_logging
    from bot.serve import prepare_sqlite_file

    settings = Settings.from_env()
    setup_logging(settings)
    prepare_sqlite_file(settings.database_url)
    return settings


def run_staff_command(args: argparse.Namespace) -> int:
    """`python -m bot staff list | revoke NAME | rotate NAME` (the parser: clubbot.cli)."""
    runs = {"list": run_list, "revoke": run_revoke, "rotate": run_rotate}
    return runs[args.staff_command](args)
