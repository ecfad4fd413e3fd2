"""`python -m scheduler run JOB --date D`: a future day is refused unless it is a dry run, and a
dry run prints what the job would do and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from club.clock import SystemClock
from club.db.connect import database
from club.db.models.jobs import JobRun
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from scheduler.__main__ import main

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Callable[[Path], str]
) -> Iterator[str]:
    """A machine with only a SQLite file configured (the embedded default): its own database,
    migrated (a copy of the session's `migrated_sqlite`).

    Tortoise caches each table's INSERT statement per connection name, whatever the database
    (`EXECUTOR_CACHE`): statements first built here for SQLite (`?` placeholders) would be
    reused by later tests on PostgreSQL, and fail there. So this database gets a cache of its
    own, and the one before it is put back."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in ("REDIS_URL", "CLUB_CONFIG", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    url = migrated_sqlite(tmp_path / "club.sqlite3")
    monkeypatch.setenv("DATABASE_URL", url)
    before = dict(EXECUTOR_CACHE)
    EXECUTOR_CACHE.clear()
    try:
        yield url
    finally:
        EXECUTOR_CACHE.clear()
        EXECUTOR_CACHE.update(before)


async def _seed(url: str, birthday: date) -> None:
    async with database(url):
        joined = SystemClock(TZ).now() - timedelta(days=400)
        await Member.create(
            openid="oDryRun0001",
            status=MemberStatus.ACTIVE,
            consent_at=joined,
            joined_at=joined,
            tier="gold",
            birthday_mmdd=birthday.month * 100 + birthday.day,
        )


async def _written(url: str) -> tuple[int, int, int]:
    async with database(url):
        return (
            await OutboxMessage.all().count(),
            await LedgerEntry.all().count(),
            await JobRun.all().count(),
        )


def test_a_future_day_is_refused_and_its_dry_run_changes_nothing(
    embedded_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    future = SystemClock(TZ).now().date() + timedelta(days=40)
    asyncio.run(_seed(embedded_database, future))

    assert main(["run", "birthday", "--date", future.isoformat()]) == 2
    refused = capsys.readouterr().err
    assert f"birthday for {future} is in the future" in refused and "--dry-run" in refused

    assert main(["run", "birthday", "--date", future.isoformat(), "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert f"birthday {future}: dry run, nothing changed; it would do:" in said
    # One gold member: found, a birthday, 300 points given, one message (no window: skipped
    # by reason, since the demo maps a template it goes as one: queued).
    assert "found=1" in said and "birthdays=1" in said and "gift_points=300" in said
    assert "queued=1" in said
    assert asyncio.run(_written(embedded_database)) == (0, 0, 0)


def test_a_run_of_today_prints_its_counts_and_a_second_does_nothing(
    embedded_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    today = SystemClock(TZ).now().date()
    asyncio.run(_seed(embedded_database, today))
    assert main(["run", "birthday"]) == 0
    first = capsys.readouterr().out
    assert f"birthday {today.isoformat()}: done (found=1 birthdays=1 gift_points=300" in first
    assert main(["run", "birthday"]) == 0
    assert "already_done" in capsys.readouterr().out
    outbox, ledger, runs = asyncio.run(_written(embedded_database))
    assert (outbox, runs) == (1, 1) and ledger == 1
    assert asyncio.run(_started_by(embedded_database)) == ["hand"]  # the jobs page says so


async def _started_by(url: str) -> list[str | None]:
    async with database(url):
        return [r.started_by for r in await JobRun.all()]
