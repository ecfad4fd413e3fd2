"""`python -m scheduler run ...` as a real process on the test database and Redis, for the tests
that run jobs at once or kill them half-way."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import APPID, TEST_DB_URL, TEST_REDIS_PREFIX, TEST_REDIS_URL, TOKEN

ROOT = Path(__file__).resolve().parents[2]


def env(**overrides: str) -> dict[str, str]:
    """A scheduler process's environment: the test database, Redis and key prefix, test secrets,
    dry run, the demo programme (no CLUB_CONFIG unless given); `overrides` on top."""
    values = dict(os.environ)
    values.pop("CLUB_CONFIG", None)
    values.update(
        DATABASE_URL=TEST_DB_URL,
        REDIS_URL=TEST_REDIS_URL or "",
        REDIS_PREFIX=TEST_REDIS_PREFIX,
        WECHAT_APPID=APPID,
        WECHAT_SECRET="test-secret",
        WECHAT_TOKEN=TOKEN,
        WECHAT_DRY_RUN="true",
        LOG_LEVEL="WARNING",
    )
    values.update(overrides)
    return values


async def start(*args: str) -> asyncio.subprocess.Process:
    """`python -m scheduler run <args>`, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scheduler",
        "run",
        *args,
        cwd=ROOT,
        env=env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """Its exit code and its output, stdout then stderr."""
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()
