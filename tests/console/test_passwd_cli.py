"""`staff_passwd` (behind `python -m bot staff passwd NAME`) sets a password the console takes."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.staff_api.cli import staff_add, staff_passwd
from club.db.connect import database
from club.db.testing import clear_all_tables
from club.staff.accounts import StaffError
from club.staff.passwords import SignInOutcome, sign_in
from tests.bot.test_staff_api_support import NOW
from tests.conftest import ON_POSTGRES, TEST_DB_URL, make_settings


def _db_url(tmp_path: Path) -> str:
    return TEST_DB_URL if ON_POSTGRES else f"sqlite://{tmp_path}/staff.sqlite3"


async def _empty(url: str) -> None:
    async with database(url, create_schema=True):
        await clear_all_tables()


async def _sign_in(url: str, name: str, password: str) -> SignInOutcome:
    async with database(url):
        return (await sign_in(name, password, now=NOW)).outcome


def test_staff_passwd_sets_a_password_stored_only_hashed(tmp_path: Path) -> None:
    url = _db_url(tmp_path)
    asyncio.run(_empty(url))
    settings = make_settings(database_url=url, redis_url=None)
    staff_add(settings, "wang.li", "clerk", create_schema=True)
    assert asyncio.run(_sign_in(url, "wang.li", "till password 1")) is SignInOutcome.WRONG
    staff_passwd(settings, "wang.li", "till password 1", create_schema=True)
    assert asyncio.run(_sign_in(url, "wang.li", "till password 1")) is SignInOutcome.OK
    assert asyncio.run(_sign_in(url, "wang.li", "till password 2")) is SignInOutcome.WRONG


def test_staff_passwd_refuses_an_unknown_account_and_a_short_password(tmp_path: Path) -> None:
    url = _db_url(tmp_path)
    asyncio.run(_empty(url))
    settings = make_settings(database_url=url, redis_url=None)
    with pytest.raises(StaffError, match="no active staff account named 'ghost'"):
        staff_passwd(settings, "ghost", "long enough password", create_schema=True)
    staff_add(settings, "ann", "admin", create_schema=True)
    with pytest.raises(StaffError, match="10-128 characters"):
        staff_passwd(settings, "ann", "short", create_schema=True)


def test_the_command_reads_the_password_from_a_pipe(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    migrated_sqlite: Callable[[Path], str],
) -> None:
    url = _db_url(tmp_path)
    if ON_POSTGRES:
        asyncio.run(_empty(url))
    else:  # the embedded demo's database, migrated as its first command leaves it
        migrated_sqlite(tmp_path / "staff.sqlite3")
    for name, value in {
        "DATABASE_URL": url,
        "WECHAT_APPID": "wx-test",
        "WECHAT_SECRET": "test-secret",
        "WECHAT_TOKEN": "test-token",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    assert main(["staff", "add", "mia", "--role", "marketer"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("typed in a pipe\n"))
    assert main(["staff", "passwd", "mia"]) == 0
    assert "console password of 'mia' set" in capsys.readouterr().out
    assert asyncio.run(_sign_in(url, "mia", "typed in a pipe")) is SignInOutcome.OK
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["staff", "passwd", "mia"]) == 1
    assert "10-128 characters" in capsys.readouterr().err
