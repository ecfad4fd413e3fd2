"""`python -m bot staff list | revoke | rotate` as an operator runs them, against the database a
running server uses: a token revoked by another process is refused on its next request."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.kv import in_process_store
from club.clock import FixedClock
from club.db.connect import database
from club.db.models.staff import AuditLog
from club.db.testing import clear_all_tables
from clubbot.web import create_app
from tests.bot.test_staff_api_support import NOW, staff_headers
from tests.conftest import ON_POSTGRES, TEST_DB_URL, make_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


async def bot_command(url: str, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, REDIS_URL="", LOG_LEVEL="WARNING")
    for name in ("CLUB_CONFIG", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN"):
        env.pop(name, None)
    if ON_POSTGRES:  # not the embedded demo: production asks for its secrets
        env.update(WECHAT_APPID="wx5823bf96d3bd56c7", WECHAT_SECRET="s", WECHAT_TOKEN="t")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_token_revoked_by_the_command_is_refused_by_the_running_server(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> None:
    # The embedded pass uses a migrated SQLite file both processes open; the other pass its
    # PostgreSQL.
    if ON_POSTGRES:
        url = TEST_DB_URL
        async with database(url, create_schema=True):
            await clear_all_tables()
    else:
        url = migrated_sqlite(tmp_path / "club.sqlite3")
    settings = make_settings(database_url=url, redis_url=None)
    app = create_app(settings, clock=FixedClock(NOW), store=in_process_store())
    async with TestClient(TestServer(app)) as client:
        headers = await staff_headers()
        assert (await client.get("/api/v1/stores", headers=headers["clerk"])).status == 200

        code, out, err = await bot_command(url, "staff", "list")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].split() == ["NAME", "ROLE", "STATE", "TOKEN", "EXPIRES", "LAST", "USED"]
        clerk = next(line for line in lines if line.startswith("clerk-1"))
        assert clerk.split()[1:3] == ["clerk", "active"]

        code, out, err = await bot_command(url, "staff", "revoke", "clerk-1")
        assert code == 0, err
        assert "revoked" in out
        refused = await client.get("/api/v1/stores", headers=headers["clerk"])
        assert refused.status == 401

        code, out, err = await bot_command(url, "staff", "rotate", "clerk-1")
        assert code == 0, err
        token = out.strip().splitlines()[-1]
        fresh = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/stores", headers=fresh)).status == 200
        assert (await client.get("/api/v1/stores", headers=headers["clerk"])).status == 401

        code, _, err = await bot_command(url, "staff", "revoke", "nobody")
        assert code == 1 and "no staff account 'nobody'" in err
        code, _, err = await bot_command(url, "staff", "revoke", "admin-1")
        assert code == 1 and "last active admin" in err

        audited = await AuditLog.filter(staff_id=0).order_by("id")
        assert [(a.staff_name, a.action, a.target) for a in audited] == [
            ("cli", "staff.revoke", audited[0].target),
            ("cli", "staff.rotate", audited[0].target),
        ]
        assert token not in str([a.summary for a in audited])
        await clear_all_tables()
