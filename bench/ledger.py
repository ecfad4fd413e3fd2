"""Earn transactions per second on PostgreSQL, next to pgbench's simple-update ceiling.

    .venv/bin/python bench/ledger.py [--url postgres://postgres@127.0.0.1:5432/clubbot_bench]
        [--seconds 10] [--writers 200] [--members 1000] [--pool 20]

Three figures from one run on the same server:
1. `pgbench -N` (simple update: UPDATE + SELECT + INSERT per transaction) in a scratch database
   after `pgbench -i`, with as many clients as our connection pool: the ceiling;
2. `credit()` earns (conditional balance update + ledger row + points lot, one transaction)
   by `--writers` concurrent tasks spread over `--members` members;
3. the same with every writer on one member (row-lock serialised).
The bench databases are dropped and recreated each run: never point --url at real data.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from club.db.connect import database
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.db.testing import clear_all_tables
from club.points import ledger as points
from club.rules.kinds import EntryKind

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
EXPIRES = datetime(2028, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def _pg_args(url: str) -> list[str]:
    parts = urlsplit(url)
    return [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]


def recreate(url: str, name: str) -> None:
    subprocess.run(["dropdb", "--if-exists", *_pg_args(url), name], check=True)
    subprocess.run(["createdb", *_pg_args(url), name], check=True)


def pgbench_tps(url: str, scratch: str, clients: int, seconds: int) -> float:
    recreate(url, scratch)
    subprocess.run(
        ["pgbench", "-i", "-q", "-s", "10", *_pg_args(url), scratch],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            "pgbench",
            "-N",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            *_pg_args(url),
            scratch,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    subprocess.run(["dropdb", "--if-exists", *_pg_args(url), scratch], check=True)
    return float(match.group(1))


async def earn_tps(member_ids: list[int], writers: int, seconds: float, tag: str) -> float:
    refs = itertools.count()
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        nonlocal done
        i = w
        while time.perf_counter() < deadline:
            member = member_ids[i % len(member_ids)]
            i += writers
            await points.credit(
                member,
                1,
                kind=EntryKind.EARN,
                ref=f"{tag}:{next(refs)}",
                reason="bench",
                now=NOW,
                expires_at=EXPIRES,
            )
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return done / (time.perf_counter() - start)


async def run_earns(url: str, args: argparse.Namespace) -> tuple[float, float]:
    pooled = f"{url}{'&' if '?' in url else '?'}minsize={args.pool}&maxsize={args.pool}"
    async with database(pooled, create_schema=True):
        await clear_all_tables()
        await Member.bulk_create(
            [Member(openid=f"o-bench-{i:06d}") for i in range(args.members)], batch_size=1000
        )
        ids = [int(m.id) for m in await Member.all().order_by("id").only("id")]
        await earn_tps(ids, args.writers, 2, "warm")  # fill the pool and the caches
        spread = await earn_tps(ids, args.writers, args.seconds, "spread")
        one = await earn_tps(ids[:1], args.writers, args.seconds, "one")
        total = sum(int(m.points_balance) for m in await Member.all().only("id", "points_balance"))
        ledger_rows = await LedgerEntry.all().count()
        if total != ledger_rows:
            raise AssertionError(f"balances {total} != ledger rows {ledger_rows}")
    return spread, one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/clubbot_bench")
    parser.add_argument("--scratch", default="clubbot_pgbench_scratch")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--writers", type=int, default=200)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=20)
    args = parser.parse_args()

    recreate(args.url, urlsplit(args.url).path.lstrip("/"))
    ceiling = pgbench_tps(args.url, args.scratch, args.pool, args.seconds)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    spread, one = asyncio.run(run_earns(args.url, args))
    print(f"pgbench -N, {args.pool} clients, {args.seconds}s:      {ceiling:9.0f} tps (ceiling)")
    print(
        f"earn, {args.writers} writers over {args.members} members:  {spread:9.0f} tps"
        f"  = {spread / ceiling:6.1%} of the ceiling"
    )
    print(
        f"earn, {args.writers} writers on one member:       {one:9.0f} tps"
        f"  = {one / ceiling:6.1%} of the ceiling"
    )


if __name__ == "__main__":
    main()
