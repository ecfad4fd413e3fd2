"""Points expiry on the day a whole year's points expire, on PostgreSQL: lots expired per second.

    createdb -h 127.0.0.1 -U postgres clubbot_expiry_bench
    .venv/bin/python bench/expiry.py [--lots 100000] [--members 50000] [--vouchers 0] [--trace]

Drops the database's schema, applies the migrations and generates, with set-based SQL, `--members`
members and `--lots` lots past their date: half the members hold one such lot, the others several
(the rest of the lots spread over a quarter of the members); every third lot is half spent (a
REDEEM row); every tenth member also holds a lot that is not due yet. Then VACUUM ANALYZE, and
`expire_due` runs in this process through the club's own code. It prints lots/s, the process's
peak RSS and (with `--trace`, which slows Python down and so lowers lots/s) the peak traced Python
memory. Afterwards it checks every member: balance == sum of their lots' remaining == sum of their
ledger, no lot past its date holds points, and each emptied lot has exactly one EXPIRE row.

`--vouchers N` adds N vouchers past their time (redeemed 40 days before, one reward with stock,
members taken in turn), each paid for whole from a lot of its own: every other one from a lot
expired since. After `expire_due`, `expire_vouchers` (refund on expiry, the members told through
the outbox, nothing sent) runs and prints vouchers/s; then each voucher must be expired with one
REFUND row, the lapsed ones' points expired at once (an EXPIRE row of the same ref), the stock
back whole and one outbox row each.
Never point --database at real data.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.members_sql import insert_members
from bench.schema import fresh_schema
from club.db.connect import database
from club.messaging.outbox import Outbox
from club.points.expiry import expire_due
from club.programme import load_programme
from club.rewards.voucher_expiry import expire_vouchers

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
# Vouchers: a reward, then N redemptions past their time; each paid 200 points by its REDEEM row
# from a lot of its own (an EARN row's lot, spent whole: odd ones expired since, even ones not).
_REWARD = """
INSERT INTO reward (name, description, points_cost, stock, cancel_window_hours, enabled, created_at)
VALUES ('醒酒器', '', 200, 0, 1, true, $1::timestamptz)
"""
_REDEMPTIONS = """
INSERT INTO redemption (member_id, reward_id, points, voucher_code, request_ref, status,
                        created_at, cancel_until, expires_at)
SELECT 1 + (g - 1) % $2::bigint, (SELECT max(id) FROM reward), 200, 'BV' || lpad(g::text, 10, '0'),
       'bench:' || g, 'active', $3::timestamptz, $3::timestamptz, $4::timestamptz
FROM generate_series(1, $1) AS g
"""
_VOUCHER_ENTRIES = """
INSERT INTO ledger_entry
    (member_id, kind, points, balance_after, debt_after, reason, ref, actor_id, created_at)
SELECT r.member_id, k.kind, k.points, 0, 0, 'bench', k.prefix || r.id, NULL::bigint, $1::timestamptz
FROM redemption r CROSS JOIN (VALUES ('earn', 200, 'vearn:', 1), ('redeem', -200, 'redemption:', 2))
    AS k(kind, points, prefix, n)
ORDER BY r.id, k.n
"""
_VOUCHER_LOTS = """
INSERT INTO points_lot (member_id, entry_id, points, remaining, earned_at, expires_at)
SELECT e.member_id, e.id, 200, 0, e.created_at,
       CASE WHEN substr(e.ref, 7)::bigint % 2 = 1 THEN $1::timestamptz ELSE $2::timestamptz END
FROM ledger_entry e WHERE e.ref LIKE 'vearn:%'
"""
_VOUCHER_USES = """
INSERT INTO points_lot_use (entry_id, lot_id, points)
SELECT s.id, l.id, 200 FROM ledger_entry s
JOIN ledger_entry e ON e.kind = 'earn' AND e.ref = 'vearn:' || substr(s.ref, 12)
JOIN points_lot l ON l.entry_id = e.id
WHERE s.kind = 'redeem' AND s.ref LIKE 'redemption:%'
"""
_VOUCHER_CHECKS = {
    "vouchers not expired": "SELECT count(*) FROM redemption WHERE status <> 'expired'",
    "vouchers with other than one REFUND row": """
        SELECT count(*) FROM redemption r WHERE (SELECT count(*) FROM ledger_entry e
            WHERE e.kind = 'refund' AND e.ref = 'redemption:' || r.id) <> 1""",
    "vouchers whose lot expired since, without an EXPIRE row of their ref": """
        SELECT count(*) FROM points_lot_use u JOIN points_lot l ON l.id = u.lot_id
        JOIN ledger_entry s ON s.id = u.entry_id AND s.kind = 'redeem'
        WHERE l.expires_at <= $1 AND NOT EXISTS (SELECT 1 FROM ledger_entry e
            WHERE e.kind = 'expire' AND e.ref = s.ref AND e.points = -200)""",
    "items not back in stock": """
        SELECT (SELECT count(*) FROM redemption) - stock FROM reward
        WHERE id = (SELECT max(id) FROM reward)""",
    "vouchers with other than one message": """
        SELECT count(*) FROM redemption r WHERE (SELECT count(*) FROM outbox_message o
            WHERE o.idempotency_key = 'voucher:' || r.id || ':expired') <> 1""",
}

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
        SELECT count(*) FROM points_lot l JOIN ledger_entry d ON d.id = l.entry_id
        WHERE l.expires_at <= $1 AND d.ref LIKE 'due:%' AND (SELECT count(*) FROM ledger_entry e
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


async def load(url: str, lots: int, members: int, vouchers: int) -> None:
    await fresh_schema(url)
    conn = await asyncpg.connect(_pg(url))
    try:
        began = time.perf_counter()
        await conn.execute(_MEMBERS, members, EARNED)
        await conn.execute(_EARNS, lots, members, EARNED)
        await conn.execute(_LOTS, DUE, LATER)
        await conn.execute(_SPENT, EARNED)
        if vouchers:
            redeemed = NOW - timedelta(days=40)
            await conn.execute(_REWARD, EARNED)
            await conn.execute(_REDEMPTIONS, vouchers, members, redeemed, DUE)
            await conn.execute(_VOUCHER_ENTRIES, redeemed)
            await conn.execute(_VOUCHER_LOTS, DUE, LATER)
            await conn.execute(_VOUCHER_USES)
        await conn.execute(_BALANCES)
        # Each earn's balance_after as the ledger would have written it (only the EXPIRE rows'
        # running balances are checked, from the row before them).
        await conn.execute(
            "UPDATE ledger_entry SET balance_after = r.b FROM (SELECT id, sum(points) OVER "
            "(PARTITION BY member_id ORDER BY id) AS b FROM ledger_entry) AS r "
            "WHERE ledger_entry.id = r.id"
        )
        await conn.execute("VACUUM ANALYZE")
        due = await conn.fetchval(
            "SELECT count(*) FROM points_lot WHERE expires_at <= $1 AND remaining > 0", NOW
        )
        print(
            f"load: {members} members, {due} lots due, {vouchers} vouchers"
            f"   {time.perf_counter() - began:6.1f} s"
        )
    finally:
        await conn.close()


async def check(url: str, vouchers: int) -> bool:
    conn = await asyncpg.connect(_pg(url))
    ok = True
    checks = {**_CHECKS, **(_VOUCHER_CHECKS if vouchers else {})}
    try:
        for label, sql in checks.items():
            args = [NOW] if "$1" in sql else []
            bad = await conn.fetchval(sql, *args)
            ok = ok and bad == 0
            print(f"check: {label:<62} {bad}")
    finally:
        await conn.close()
    return ok


async def main(args: argparse.Namespace) -> int:
    await load(args.database, args.lots, args.members, args.vouchers)
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
    if args.vouchers:
        await _expire_vouchers(args.database)
    return 0 if await check(args.database, args.vouchers) else 1


async def _expire_vouchers(url: str) -> None:
    programme = load_programme(None)
    async with database(url):
        began = time.perf_counter()
        events = await expire_vouchers(NOW, programme, Outbox(programme))
        elapsed = time.perf_counter() - began
    returned = sum(e.points_returned for e in events)
    print(
        f"expire_vouchers: {len(events)} vouchers, {returned} points returned"
        f"   {elapsed:8.2f} s   {len(events) / elapsed:8.0f} vouchers/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--vouchers", type=int, default=0, help="vouchers past their time")
    parser.add_argument("--trace", action="store_true", help="peak Python memory (slower)")
    sys.exit(asyncio.run(main(parser.parse_args())))
