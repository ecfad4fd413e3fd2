"""The fault suite's world: the production topology (`scripts/topology.py`) on a PostgreSQL and
a Redis of its own, started once for the module, with the fake WeChat API in a thread of this
process (so that tests script its answers), a clerk's token and members to drive.

Runs only on the PostgreSQL pass (CLUBBOT_TEST_DATABASE_URL set) and when the servers'
binaries are installed; select it with `-m faults`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from club.db.connect import database
from club.db.models.members import Member, MemberStatus
from scripts.topology import APPID, ROOT, SECRET, Topology
from tests.fakes import FakeWeChat

TZ = ZoneInfo("Asia/Shanghai")
MEMBERS = 24
BIRTHDAYS = 6
BIRTHDAY_AFTER = timedelta(seconds=70)
"""The birthday run's send time: the first whole minute this long after the suite starts
(the other scenarios take about a minute; the scheduler's times are whole minutes)."""


class ThreadedFake:
    """The fake WeChat API on an event loop of its own thread: it answers while the tests
    block, and the tests script and read it from theirs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeWeChat(appid=APPID, secret=SECRET)
        self.base_url = self.call(self.fake.start())

    def call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(30)

    def close(self) -> None:
        self.call(self.fake.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class World:
    topology: Topology
    fake: FakeWeChat
    token: str
    birthday_at: datetime
    members: list[str] = field(default_factory=list)
    """Openids of the members the scenarios drive (none has a birthday today)."""
    birthday_members: list[str] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.topology.database_url


def programme_file(directory: Path, birthday_at: datetime) -> Path:
    """The demo programme, without quiet hours (the suite runs at any hour) and with the
    birthday run at `birthday_at`."""
    text = (ROOT / "config/programme.example.toml").read_text()
    text = text.replace('send_time = "10:00"', f'send_time = "{birthday_at:%H:%M}"', 1)
    text = text.replace('quiet_start = "21:00"', 'quiet_start = "00:00"', 1)
    text = text.replace('quiet_end = "09:00"', 'quiet_end = "00:00"', 1)
    path = directory / "programme.toml"
    path.write_text(text)
    return path


def skip_unless_possible() -> None:
    if not os.environ.get("CLUBBOT_TEST_DATABASE_URL"):
        pytest.skip("the fault suite runs on the PostgreSQL pass only")
    for binary in ("postgres", "initdb", "redis-server"):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} is not installed")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    skip_unless_possible()
    fake = ThreadedFake()
    now = datetime.now(TZ)
    earliest = now + BIRTHDAY_AFTER
    birthday_at = earliest.replace(second=0, microsecond=0)
    if birthday_at < earliest:
        birthday_at += timedelta(minutes=1)
    topology = Topology(api_base=fake.base_url, log_level="INFO")
    topology.directory.mkdir(parents=True, exist_ok=True)
    topology.extra_env = {"CLUB_CONFIG": str(programme_file(topology.directory, birthday_at))}
    try:
        topology.start()
        made = subprocess.run(
            [sys.executable, "-m", "bot", "staff", "add", "faults-clerk", "--role", "clerk"],
            cwd=ROOT,
            env=topology.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        world = World(topology, fake.fake, made.stdout.strip().splitlines()[-1], birthday_at)
        asyncio.run(seed(world, now))
        yield world
    finally:
        topology.stop()
        if os.environ.get("CLUBBOT_FAULTS_KEEP"):
            print(f"fault suite's topology kept in {topology.directory}")
        else:
            topology.cleanup()
        fake.close()


async def seed(world: World, now: datetime) -> None:
    async with database(world.database_url):
        for i in range(MEMBERS + BIRTHDAYS):
            birthday = i >= MEMBERS
            openid = f"oFault{i:06d}"
            await Member.create(
                openid=openid,
                status=MemberStatus.ACTIVE,
                consent_at=now - timedelta(days=30),
                joined_at=now - timedelta(days=30),
                tier="taste",
                phone=f"1380000{i:04d}",
                birthday_mmdd=now.month * 100 + now.day if birthday else None,
            )
            (world.birthday_members if birthday else world.members).append(openid)
