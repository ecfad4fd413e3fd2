"""Customer value at scale on PostgreSQL: the value refresh, the churn scan and every report.

    createdb -h 127.0.0.1 -U postgres clubbot_value_bench
    .venv/bin/python bench/reports.py --load        # 1,000,000 members, 10,000,000 purchases
    .venv/bin/python bench/reports.py               # measure (again) on what is loaded

`--load` drops the database's schema, applies the migrations and generates the data with
set-based SQL (generate_series, one INSERT ... SELECT per million rows, never row by row):
2,000 stores over the five store levels, 200 clerks, 1,000 group accounts with 2 contacts each,
members (half brought by a store's QR code, a tenth by a clerk's, a tenth unfollowed), purchases
over two years skewed towards heavy buyers (5% without a cost, 80% at a store, some booked to a
group account), exits and open tickets. Then VACUUM ANALYZE, as autovacuum would.

Each measured step runs in this process through the club's own code (tortoise, the same SQL as
in service) and prints its wall time, its peak Python memory (tracemalloc) and the process's
peak RSS so far: memory must stay flat, whatever the member count. Targets: each report under
5 s, the value refresh under 2 min. A period other than the default one is ranked by the first
80/20 report asking for it and kept for the day (`club.reports.rankings`): both the first ask and
the later ones are measured, and the ranking without keeping it (`kept_rankings = 0`); last the
nightly `rank-ahead` job and the reports of the named periods it ranked (`club.reports.ahead`).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from tortoise.transactions import in_transaction

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.schema import fresh_schema
from club.db.connect import database
from club.db.migrate import migrate
from club.programme import load_programme
from club.reports.ahead import rank_ahead
from club.reports.channels import channels_report
from club.reports.churn import Reason, churn_report
from club.reports.classes import ChangeKind, classes_report
from club.reports.exits import exits_report
from club.reports.filters import ReportFilter, build_filter
from club.reports.pareto import pareto_report
from club.reports.pareto_rows import ParetoReport, Segment
from club.reports.quadrants import quadrants_report
from club.reports.ranker import Ranker, RankingPending
from club.reports.rankings import forget_asked
from club.reports.rfm import rfm_report
from club.reports.tiers import tiers_report
from club.rules.periods import Preset, preset_period
from club.rules.programme import ValueRules
from club.value.churn import scan_churn
from club.value.refresh import refresh_values

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clubbot_value_bench"
T = TypeVar("T")

STORES = 2_000
CLERKS = 200
ACCOUNTS = 1_000
CHUNK = 1_000_000

# Store i (1..2000): its level by range, the same rule in the purchases' CASE below.
LEVEL_OF_STORE = (
    "CASE WHEN {i} <= 50 THEN 'dealer' WHEN {i} <= 200 THEN 'wholesaler'"
    " WHEN {i} <= 500 THEN 'key_account' WHEN {i} <= 1900 THEN 'small_shop' ELSE 'online' END"
)


def load_sql(members: int, purchases: int) -> list[str]:
    now = f"TIMESTAMPTZ '{NOW.isoformat()}'"
    statements = [
        "INSERT INTO store (id, name, channel_level, region, status, created_at)"
        f" SELECT 'S' || i, '门店' || i, {LEVEL_OF_STORE.format(i='i')}, '华东', 'open', {now}"
        f" FROM generate_series(1, {STORES}) i",
        "INSERT INTO staff_user (name, role, token_hash, active, created_at, failed_sign_ins)"
        f" SELECT 'clerk' || i, 'clerk', md5('t' || i) || md5('u' || i), true, {now}, 0"
        f" FROM generate_series(1, {CLERKS}) i",
        "INSERT INTO group_account (name, created_at)"
        f" SELECT '集团' || i, {now} FROM generate_series(1, {ACCOUNTS}) i",
    ]
    for start in range(1, members + 1, CHUNK):
        end = min(members, start + CHUNK - 1)
        statements.append(
            "INSERT INTO member (id, openid, status, language, points_balance, points_debt,"
            " birthday_lunar_leap, flagged_for_review, name, joined_at, consent_at, tier,"
            " source_kind, source_ref, source_at, last_interaction_at, last_message_at,"
            " followed_at, created_at, updated_at)"
            " SELECT i, 'o' || i, CASE WHEN i % 10 = 3 THEN 'unfollowed' ELSE 'active' END,"
            " 'zh', 0, 0, false, false, '会员' || i,"
            f" CASE WHEN i % 5 = 0 THEN NULL ELSE {now} - (i % 900) * INTERVAL '1 day' END,"
            f" CASE WHEN i % 5 = 0 THEN NULL ELSE {now} - (i % 900) * INTERVAL '1 day' END,"
            " CASE WHEN i % 100 = 1 THEN 'black' WHEN i % 20 = 1 THEN 'gold'"
            " WHEN i % 5 = 1 THEN 'silver' ELSE 'taste' END,"
            " CASE WHEN i % 2 = 0 THEN 'store' WHEN i % 10 = 1 THEN 'staff' END,"
            f" CASE WHEN i % 2 = 0 THEN 'S' || (1 + (i * 7919) % {STORES})"
            f" WHEN i % 10 = 1 THEN CAST(1 + i % {CLERKS} AS TEXT) END,"
            f" CASE WHEN i % 2 = 0 OR i % 10 = 1 THEN {now} - (i % 900) * INTERVAL '1 day' END,"
            f" {now} - (i % 400) * INTERVAL '1 day', {now} - (i % 500) * INTERVAL '1 day',"
            f" {now} - (i % 900) * INTERVAL '1 day', {now} - (i % 900) * INTERVAL '1 day', {now}"
            f" FROM generate_series(CAST({start} AS BIGINT), {end}) i"
        )
    statements += [
        f"SELECT setval(pg_get_serial_sequence('member', 'id'), {members})",
        "INSERT INTO group_account_contact (account_id, member_id, added_at)"
        f" SELECT 1 + (i - 1) / 2, i, {now} FROM generate_series(1, {2 * ACCOUNTS}) i",
    ]
    for start in range(1, purchases + 1, CHUNK):
        end = min(purchases, start + CHUNK - 1)
        # Heavy buyers: member ids drawn as members x u^2.5 (a few buy very often), amounts
        # skewed low (50 to 50,050 yuan), two years of history.
        statements.append(
            "INSERT INTO purchase (order_id, member_id, store_id, account_id, channel_level,"
            " amount_fen, cost_fen, points_earned, returned_fen, points_reversed, balance_after,"
            " tier_before, tier_after, created_at)"
            " SELECT 'B' || i, m, CASE WHEN s > 0 THEN 'S' || s END,"
            f" CASE WHEN m <= {2 * ACCOUNTS} AND i % 3 = 0 THEN 1 + (m - 1) / 2 END,"
            f" CASE WHEN s > 0 THEN {LEVEL_OF_STORE.format(i='s')} END,"
            " amount, CASE WHEN i % 20 = 7 THEN NULL ELSE amount * (40 + i % 30) / 100 END,"
            " amount / 100, 0, 0, 0, 'taste', 'taste',"
            f" {now} - (random() * 730 * 86400) * INTERVAL '1 second'"
            " FROM (SELECT i,"
            f" 1 + floor({members} * power(random(), 2.5))::bigint AS m,"
            f" CASE WHEN random() < 0.8 THEN 1 + floor(random() * {STORES})::int ELSE 0 END AS s,"
            " (5000 + floor(power(random(), 3) * 5000000))::bigint AS amount"
            f" FROM generate_series(CAST({start} AS BIGINT), {end}) i) g"
        )
    statements += [
        "INSERT INTO member_exit (member_id, kind, at, last_active_at, tier, value_class,"
        " tenure_days, joined, source_kind, source_ref, origin_level)"
        f" SELECT i * 10 + 3, CASE WHEN i % 4 = 0 THEN 'dormant' ELSE 'unfollow' END,"
        f" {now} - (i % 365) * INTERVAL '1 day',"
        f" {now} - (i % 365) * INTERVAL '1 day' - INTERVAL '1 hour',"
        " CASE WHEN i % 7 = 0 THEN 'gold' ELSE 'taste' END,"
        " CASE WHEN i % 5 = 0 THEN 'A' WHEN i % 3 = 0 THEN 'B' ELSE 'C' END, i % 1000, i % 5 <> 0,"
        " CASE WHEN i % 2 = 0 THEN 'store' END,"
        f" CASE WHEN i % 2 = 0 THEN 'S' || (1 + i % {STORES}) END,"
        f" CASE WHEN i % 2 = 0 THEN {LEVEL_OF_STORE.format(i='(1 + i % 2000)')} END"
        f" FROM generate_series(1, {members // 10}) i",
        "INSERT INTO ticket (member_id, status, opened_at, last_member_message_at)"
        f" SELECT i * 997 % {members} + 1, 'open', {now} - i * INTERVAL '1 minute',"
        f" {now} - i * INTERVAL '1 minute' FROM generate_series(1, 1000) i",
    ]
    return statements


async def load(url: str, members: int, purchases: int) -> None:
    await fresh_schema(url)
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        for sql in load_sql(members, purchases):
            began = time.perf_counter()
            status = await conn.execute(sql)
            print(f"  load: {status:<28} {time.perf_counter() - began:7.1f} s", flush=True)
        # What autovacuum would do to freshly loaded tables: statistics for the planner and the
        # visibility map for index-only scans.
        began = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  load: VACUUM ANALYZE{'':<14} {time.perf_counter() - began:7.1f} s", flush=True)
    finally:
        await conn.close()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def step(name: str, work: Callable[[], Awaitable[T]]) -> T:
    tracemalloc.start()
    began = time.perf_counter()
    result = await work()
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{name:<34} {elapsed:8.2f} s   peak {peak / 2**20:6.1f} MiB traced"
        f"   RSS {peak_rss_mib():6.0f} MiB",
        flush=True,
    )
    return result


async def asked_by_the_web(flt: ReportFilter, rules: ValueRules) -> ParetoReport:
    """A new period's 80/20 report asked as a client of the reports API asks: the first answer
    (202 once the ranker's wait is over), then again after each Retry-After until it is there."""
    ranker = Ranker()
    started = time.perf_counter()
    asks = 0
    try:
        while True:
            asks += 1
            try:
                report = await pareto_report(flt, rules, now=NOW, ranker=ranker)
            except RankingPending as pending:
                if asks == 1:
                    print(f"  first answer: 202 after {time.perf_counter() - started:.2f} s")
                await asyncio.sleep(pending.retry_after)
                continue
            took = time.perf_counter() - started
            print(f"  the report at ask {asks}, {took:.1f} s after the first")
            return report
    finally:
        await ranker.close()


async def measure(url: str, jobs: bool) -> None:
    programme = load_programme(None)
    rules = programme.value
    today = NOW.date()
    flt = build_filter(today=today, tz=TZ, months=12)
    key = build_filter(today=today, tz=TZ, months=12, level="key_account")
    store = build_filter(today=today, tz=TZ, months=12, store="S42")
    spring = build_filter(
        today=today, tz=TZ, months=12, start=date(2026, 3, 1), end=date(2026, 5, 31)
    )
    # A 12-month period other than the default one (which the refresh's snapshot answers).
    year = build_filter(
        today=today, tz=TZ, months=12, start=date(2025, 10, 1), end=date(2026, 9, 30)
    )
    spring_key = build_filter(
        today=today,
        tz=TZ,
        months=12,
        start=date(2026, 3, 1),
        end=date(2026, 5, 31),
        level="key_account",
    )
    # Another new period, asked as the reports API asks: through the web process's ranker.
    winter = build_filter(
        today=today, tz=TZ, months=12, start=date(2025, 12, 1), end=date(2026, 2, 28)
    )
    unkept = replace(rules, kept_rankings=0)
    await migrate(url)  # a database loaded by an earlier version gets the new tables
    async with database(url):
        if jobs:
            counts = await step("value-refresh", lambda: refresh_values(today, NOW, programme))
            print(f"  {counts}")
            counts = await step(
                "churn-scan (+ dormant exits)", lambda: scan_churn(today, NOW, programme)
            )
            print(f"  {counts}")
        # Rankings kept by an earlier run of the same day would answer at once.
        async with in_transaction() as conn:
            await forget_asked(conn)
        await step(
            "report pareto, all levels", lambda: pareto_report(flt, rules, limit=100, now=NOW)
        )
        await step(
            "report pareto, key_account", lambda: pareto_report(key, rules, limit=100, now=NOW)
        )
        await step(
            "report pareto, one store", lambda: pareto_report(store, rules, limit=100, now=NOW)
        )
        await step("pareto, spring, not kept", lambda: pareto_report(spring, unkept, now=NOW))
        await step(
            "pareto, spring, first ask (ranks)", lambda: pareto_report(spring, rules, now=NOW)
        )
        await step("pareto, spring, asked again", lambda: pareto_report(spring, rules, now=NOW))
        await step(
            "pareto, spring, key segment, page 2",
            lambda: pareto_report(spring, rules, segment=Segment.KEY, offset=100, now=NOW),
        )
        await step("pareto, spring, key_account", lambda: pareto_report(spring_key, rules, now=NOW))
        await step("pareto, 12 months, not kept", lambda: pareto_report(year, unkept, now=NOW))
        await step("pareto, 12 months, first ask", lambda: pareto_report(year, rules, now=NOW))
        await step("pareto, 12 months, asked again", lambda: pareto_report(year, rules, now=NOW))
        await step("pareto, winter, as the web asks", lambda: asked_by_the_web(winter, rules))
        await step("report rfm", lambda: rfm_report(flt, rules.rfm_bins, limit=100, offset=0))
        await step("report rfm, spring period", lambda: rfm_report(spring, 5, limit=100, offset=0))
        await step(
            "report classes",
            lambda: classes_report(flt, change=ChangeKind.MOVED, limit=100, offset=0),
        )
        await step(
            "report quadrants",
            lambda: quadrants_report(flt, quadrant=None, limit=100, offset=0),
        )
        await step(
            "report churn", lambda: churn_report(flt, reason=Reason.ALL, limit=100, offset=0)
        )
        await step(
            "report rfm, key_account",
            lambda: rfm_report(key, rules.rfm_bins, limit=100, offset=0),
        )
        await step(
            "report classes, spring period",
            lambda: classes_report(spring, change=ChangeKind.MOVED, limit=100, offset=0),
        )
        await step(
            "report quadrants, spring period",
            lambda: quadrants_report(spring, quadrant=None, limit=100, offset=0),
        )
        await step(
            "report churn, spring period",
            lambda: churn_report(spring, reason=Reason.ALL, limit=100, offset=0),
        )
        await step("report exits", lambda: exits_report(flt))
        await step("report channels", lambda: channels_report(flt, rules, now=NOW))
        await step("report channels, key_account", lambda: channels_report(key, rules, now=NOW))
        await step(
            "report channels, spring (kept)", lambda: channels_report(spring, rules, now=NOW)
        )
        await step("report tiers", lambda: tiers_report(flt, programme, now=NOW))
        await step(
            "report tiers, key_account (live)", lambda: tiers_report(key, programme, now=NOW)
        )
        await step("report tiers, spring (kept)", lambda: tiers_report(spring, programme, now=NOW))
        # The nightly rank-ahead job, from nothing kept: then the named periods answer at once.
        async with in_transaction() as conn:
            await forget_asked(conn)
        counts = await step("rank-ahead", lambda: rank_ahead(today, NOW, programme))
        print(f"  {counts}")
        for preset in Preset:
            first, last = preset_period(preset, today)
            named = build_filter(today=today, tz=TZ, months=12, start=first, end=last)
            await step(
                f"pareto, {preset} (ranked ahead)",
                lambda named=named: pareto_report(named, rules, limit=100, now=NOW),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--load", action="store_true", help="(re)generate the data first")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument(
        "--reports-only",
        action="store_true",
        help="skip the value-refresh and churn-scan (their results from an earlier run stay)",
    )
    args = parser.parse_args()
    if args.load:
        began = time.perf_counter()
        asyncio.run(load(args.database, args.members, args.purchases))
        print(f"loaded in {time.perf_counter() - began:.0f} s", flush=True)
    asyncio.run(measure(args.database, jobs=not args.reports_only))


if __name__ == "__main__":
    main()
