"""Points expiry on the day a whole year's points expire, on PostgreSQL: lots expired per second.

    createdb -h 127.0.0.1 -U postgres clubbot_expiry_bench
    .venv/bin/python bench/expiry.py [--lots 100000] [--members 50000] [--trace]

Drops the database's schema, applies the migrations and generates, with set-based SQL, `--members`
members and `--lots` lots past their date: half the members hold one such lot, the others several
(the rest of the lots spread over a quarter of the members); every third lot is half spent (a
REDEEM row); every tenth member also holds a lot that is not due yet. Then VACUUM ANALYZE, and
`expire_due` runs in this process through the club's own code. It prints lots/s, the process's
peak RSS and (with `--trace`, which slows Python down and so lowers lots/s) the peak traced Python
memory. Afterwards it checks every member: balance == sum of their lots' remaining == sum of their
ledger, no lot past its date holds points, and each emptied lot has exactly one EXPIRE row.
Never point --database at real data.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.members_sql import insert_members
from bench.schema import fresh_schema
from club.db.connect import database
from club.points.expiry import expire_due

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2028, 1, 1, 0, 5, tzinfo=TZ)
EARNED = datetime(2026, 6, 1, 10, 0, tzinfo=TZ)
DUE = datetime(2028, 1, 1, 0, 0, tzinfo=TZ)
LATER = datetime(2029, 1, 1, 0, 0, tzinfo=TZ)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clubbot_expiry_bench"

_MEMBERS = insert_members("oExpiry")
# Lot g of the due ones: members 1..M get one each; the rest go round the first quarter.
_EARNS = """
INSERT INTO ledger_entry
    (member_id, kind, points, balance_after, debt_after, reason, ref, actor_id, created_at)
SELECT CASE WHEN g <= $2::bigint THEN g ELSE 1 + g % greatest($2 / 4, 1) END,
       'earn', 100 + g % 400, 0, 0, 'bench', 'due:' || g, NULL::bigint, $3::timestamptz
FROM generate_series(1, $1) AS g
UNION ALL
SELECT g, 'earn', 50, 0, 0, 'bench', 'later:' || g, NULL::bigint, $3::timestamptz
FROM generate_series(10, $2, 10) AS g
"""
_LOTS = """
INSERT INTO points_lot (member_id, entry_id, points, remaining, earned_at, expires_at)
SELECT e.member_id, e.id, e.points,
       CASE WHEN e.ref LIKE 'due:%' AND e.id % 3 = 0 THEN e.points / 2 ELSE e.points END,
       e.created_at, CASE WHEN e.ref LIKE 'due:%' THEN $1::timestamptz ELSE $2::timestamptz END
FROM ledger_entry e WHERE e.kind = 'earn'
"""
_SPENT = """
INSERT INTO ledger_entry
    (member_id, kind, points, balance_after, debt_after, reason, ref, actor_id, created_at)
SELECT member_id, 'redeem', remaining - points, 0, 0, 'bench', 'spent:' || id, NULL::bigint,
       $1::timestamptz
FROM points_lot WHERE remaining < points
"""
_BALANCES = """
UPDATE member SET points_balance = s.total
FROM (SELECT member_id, sum(remaining) AS total FROM points_lot GROUP BY member_id) AS s
WHERE member.id = s.member_id
"""
_CHECKS = {
    "members whose balance is not the sum of their lots": """
        SELECT count(*) FROM member m
        WHERE m.points_balance <> coalesce(
            (SELECT sum(remaining) FROM points_lot l WHERE l.member_id = m.id), 0)""",
    "members whose balance is not the sum of their ledger": """
        SELECT count(*) FROM member m
        WHERE m.points_balance - m.points_debt <> coalesce(
            (SELECT sum(points) FROM ledger_entry e WHERE e.member_id = m.id), 0)""",
    "lots past their date still holding points": """
        SELECT count(*) FROM points_lot WHERE expires_at <= $1 AND remaining > 0""",
    "lots not due that lost points": """
        SELECT count(*) FROM points_lot WHERE expires_at > $1 AND remaining <> points""",
    "lots with other than one EXPIRE row": """
        SELECT count(*) FROM points_lot l
        WHERE l.expires_at <= $1 AND (SELECT count(*) FROM ledger_entry e
            WHERE e.kind = 'expire' AND e.ref = 'lot:' || l.id) <> 1""",
    "EXPIRE rows whose balance_after is not the running balance": """
        SELECT count(*) FROM (
            SELECT balance_after, points, lag(balance_after) OVER w AS before, kind
            FROM ledger_entry WINDOW w AS (PARTITION BY member_id ORDER BY id)) AS r
        WHERE r.kind = 'expire' AND r.before IS NOT NULL
          AND r.before + r.points <> r.balance_after""",
}


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def load(url: str, lots: int, members: int) -> None:
    await fresh_schema(url)
    conn = await asyncpg.connect(_pg(url))
    try:
        began = time.perf_counter()
        await conn.execute(_MEMBERS, members, EARNED)
        await conn.execute(_EARNS, lots, members, EARNED)
        await conn.execute(_LOTS, DUE, LATER)
        await conn.execute(_SPENT, EARNED)
        await conn.execute(_BALANCES)
        # Each earn's balance_after as the ledger would have written it (only the EXPIRE rows'
        # running balances are checked, from the row before them).
        await conn.execute(
            "UPDATE ledger_entry SET balance_after = r.b FROM (SELECT id, sum(points) OVER "
            "(PARTITION BY member_id ORDER BY id) AS b FROM ledger_entry) AS r "
            "WHERE ledger_entry.id = r.id"
        )
        await conn.execute("VACUUM ANALYZE")
        due = await conn.fetchval("SELECT count(*) FROM points_lot WHERE expires_at <= $1", NOW)
        print(f"load: {members} members, {due} lots due   {time.perf_counter() - began:6.1f} s")
    finally:
        await conn.close()


async def check(url: str) -> bool:
    conn = await asyncpg.connect(_pg(url))
    ok = True
    try:
        for label, sql in _CHECKS.items():
            args = [NOW] if "$1" in sql else []
            bad = await conn.fetchval(sql, *args)
            ok = ok and bad == 0
            print(f"check: {label:<62} {bad}")
    finally:
        await conn.close()
    return ok


async def main(args: argparse.Namespace) -> int:
    await load(args.database, args.lots, args.members)
    async with database(args.database):
        if args.trace:
            tracemalloc.start()
        began = time.perf_counter()
        run = await expire_due(NOW)
        elapsed = time.perf_counter() - began
        traced = ""
        if args.trace:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            traced = f"   peak {peak / 2**20:6.1f} MiB traced"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"expire_due: {run.lots} lots, {run.points} points, {run.members} members"
        f"   {elapsed:8.2f} s   {run.lots / elapsed:8.0f} lots/s{traced}   RSS {rss:6.0f} MiB"
    )
    print(f"  1,000,000 lots at this rate: {1_000_000 / (run.lots / elapsed) / 60:6.1f} min")
    return 0 if await check(args.database) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--trace", action="store_true", help="peak Python memory (slower)")
    sys.exit(asyncio.run(main(parser.parse_args())))
