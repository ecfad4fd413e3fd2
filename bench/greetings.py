"""Greetings at scale on PostgreSQL: find today's birthdays and festival recipients, queue them.

    .venv/bin/python bench/greetings.py --members 1000000 \
        --database postgres://postgres@127.0.0.1:5432/clubbot_bench

Loads N synthetic members with COPY (60% solar birthdays, 40% lunar, spread over the year; a
few unfollowed or without consent), then measures, each in this fresh process:
1. the birthday lookup alone (the index query, streamed), with its EXPLAIN ANALYZE;
2. the birthday job: lookup, ledger gifts, outbox rows;
3. the festival job on 中秋 (every active consenting member, streamed in batches);
with wall time and peak Python memory (tracemalloc) of each step, and the process's peak RSS.
Run it at 100k and at 1M to see memory stay flat while the member count grows; load with
`--load-only` and measure with `--skip-load` so that the peak RSS is not the loader's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from tortoise import Tortoise

from club.db.connect import database
from club.db.testing import clear_all_tables
from club.greetings.compose import GreetingDay
from club.greetings.service import (
    BATCH,
    _eligible,
    greet_birthdays,
    greet_festivals,
    ledger_gifts,
)
from club.programme import load_programme

TZ = ZoneInfo("Asia/Shanghai")
BIRTHDAY_DAY = date(2026, 11, 23)
FESTIVAL_DAY = date(2026, 9, 25)  # 中秋 2026
T = TypeVar("T")

COLUMNS = [
    "id",
    "openid",
    "status",
    "consent_at",
    "joined_at",
    "tier",
    "language",
    "birthday_mmdd",
    "birthday_lunar_month",
    "birthday_lunar_day",
    "birthday_lunar_leap",
    "last_interaction_at",
    "points_balance",
    "points_debt",
    "flagged_for_review",
    "created_at",
    "updated_at",
]


def synthetic(n: int, seed: int = 7) -> list[tuple[Any, ...]]:
    rnd = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    month_days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    rows = []
    for i in range(1, n + 1):
        roll = rnd.random()
        status = "unfollowed" if roll < 0.03 else "active"
        consent = None if 0.03 <= roll < 0.05 else now - timedelta(days=rnd.randrange(1, 900))
        mmdd = lunar_m = lunar_d = None
        leap = False
        if rnd.random() < 0.6:
            m = rnd.randrange(1, 13)
            mmdd = m * 100 + rnd.randrange(1, month_days[m - 1] + 1)
        else:
            lunar_m, lunar_d = rnd.randrange(1, 13), rnd.randrange(1, 31)
            leap = rnd.random() < 0.03
        recent = now - timedelta(hours=rnd.randrange(1, 24 * 90))
        rows.append(
            (
                i,
                f"oBench{i:010d}",
                status,
                consent,
                consent,
                "taste",
                "zh",
                mmdd,
                lunar_m,
                lunar_d,
                leap,
                recent,
                0,
                0,
                False,
                now,
                now,
            )
        )
    return rows


async def load(url: str, n: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        for start in range(0, n, 200_000):
            chunk = synthetic(min(200_000, n - start), seed=start)
            chunk = [(r[0] + start, f"oBench{r[0] + start:010d}", *r[2:]) for r in chunk]
            await conn.copy_records_to_table("member", records=chunk, columns=COLUMNS)
        await conn.execute("ANALYZE member")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def reset_effects() -> None:
    """Forget earlier runs' effects (outbox, ledger, job runs, balances); keep the members."""
    conn = Tortoise.get_connection("default")
    await conn.execute_script(
        "TRUNCATE outbox_message, ledger_entry, points_lot, job_run RESTART IDENTITY CASCADE;"
        " UPDATE member SET points_balance = 0 WHERE points_balance <> 0;"
    )


async def measured(label: str, step: Callable[[], Awaitable[T]]) -> T:
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    result = await step()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<34} {elapsed:8.2f} s   peak {peak / 2**20:7.1f} MiB   {result}")
    return result


async def lookup_only(day: date) -> int:
    """The birthday query alone, streamed in the job's batches."""
    today = GreetingDay.of(day, load_programme(None))
    query = _eligible().filter(today.birthday_query())
    found, last = 0, 0
    while True:
        rows = await query.filter(id__gt=last).order_by("id").limit(BATCH).values("id")
        if not rows:
            return found
        found += len(rows)
        last = rows[-1]["id"]


async def explain(day: date) -> str:
    today = GreetingDay.of(day, load_programme(None))
    sql = (
        _eligible()
        .filter(today.birthday_query())
        .order_by("id")
        .limit(BATCH)
        .values("id")
        .sql(params_inline=True)
    )
    conn = Tortoise.get_connection("default")
    _, rows = await conn.execute_query(f"EXPLAIN ANALYZE {sql}")
    return "\n".join(str(next(iter(r.values()))) for r in rows)


async def main(url: str, members: int, skip_load: bool, load_only: bool) -> None:
    programme = load_programme(None)
    gifts = ledger_gifts(programme)
    async with database(url, create_schema=True):
        if not skip_load:
            await clear_all_tables()
            print(f"loaded {members:,} members with COPY in {await load(url, members):.1f} s")
            if load_only:
                return
        else:
            await reset_effects()
        await measured("birthday lookup (index, streamed)", lambda: lookup_only(BIRTHDAY_DAY))
        print(await explain(BIRTHDAY_DAY))
        now = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
        await measured(
            "birthday job (gifts + outbox)",
            lambda: greet_birthdays(BIRTHDAY_DAY, programme=programme, now=now, gifts=gifts),
        )
        now = datetime(2026, 9, 25, 10, 0, tzinfo=TZ)
        await measured(
            "festival job 中秋 (all members)",
            lambda: greet_festivals(FESTIVAL_DAY, programme=programme, now=now, gifts=gifts),
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/clubbot_bench_greetings"
    )
    parser.add_argument(
        "--skip-load", action="store_true", help="reuse the loaded members (effects are reset)"
    )
    parser.add_argument(
        "--load-only", action="store_true", help="load, then stop (measure in a fresh process)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.database, args.members, args.skip_load, args.load_only))
