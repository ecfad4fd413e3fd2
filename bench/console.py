"""The staff console's pages with 1,000,000 members on PostgreSQL: how long each takes.

    .venv/bin/python bench/console.py --members 1000000 \
        --database postgres://postgres@127.0.0.1:5432/clubbot_console

Builds the schema with the migrations (so the console's indexes, the expression index for a
phone's last four digits included, are those production has), loads with COPY: N members
(names, phones, tiers, joins over two years, 3% unfollowed), an unfollow event for each of
those, 2 ledger movements a member (purchases, gifts, redemptions, expiry over 400 days),
300,000 outbox messages over 60 days, and 40 purchases for the member whose page is measured;
then VACUUM ANALYZE, as autovacuum would in service. Then it serves the app with the console
on localhost, signs in as an admin, and requests each page `--repeat` times: the dashboard, a
member page, and the member search by a phone's last four digits, by a name (one many have,
and one nobody has: the whole table is read), by an openid and by a member number.
Then the campaign and value pages: the campaign list, the composer, the segment builder's live
count (a rule over every member), saving a campaign to the gold members (timed once), that
campaign's page (its channel plan over the segment), each report page (the default period, read
from the value-refresh's snapshot where the report has one), the ticket queue and a ticket.
Report pages show what the value-refresh computed: run `bench/reports.py --load` on the database
first (its data: stores, 10M purchases, exits, tickets, the refresh and the churn scan), then
this script with `--skip-load`.
It prints each page's time (the whole request, as the browser waits for it: min, median, max).
The target is under 1 s a page. `--skip-load` measures a database loaded before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving import served
from bot.kv import in_process_store
from club.clock import FixedClock
from club.db.connect import database
from club.db.migrate import migrate
from club.staff.accounts import StaffError, create_staff
from club.staff.passwords import set_password
from config import Settings

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
TIERS = (("taste", 0.70), ("silver", 0.20), ("gold", 0.08), ("black", 0.02))
PASSWORD = "bench password 1"
TARGET = 424_242  # the member whose page is measured (the last one with fewer members)


def _tier(rnd: random.Random) -> str:
    roll, acc = rnd.random(), 0.0
    for code, share in TIERS:
        acc += share
        if roll < acc:
            return code
    return "taste"


def members(start: int, count: int) -> list[tuple[Any, ...]]:
    rnd = random.Random(start)
    rows = []
    for i in range(start, start + count):
        joined = NOW - timedelta(minutes=rnd.randrange(0, 2 * 365 * 24 * 60))
        status = "unfollowed" if rnd.random() < 0.03 else "active"
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if i % 2 else "")
        phone = f"1{rnd.randrange(3, 10)}{rnd.randrange(0, 10**9):09d}"
        rows.append(
            (i, f"oBench{i:010d}", status, name, phone, joined, joined, "v1", _tier(rnd),
             "zh", 0, 0, False, False, joined, joined)
        )  # fmt: skip
    return rows


MEMBER_COLUMNS = [
    "id", "openid", "status", "name", "phone", "consent_at", "joined_at", "consent_version",
    "tier", "language", "points_balance", "points_debt", "flagged_for_review",
    "birthday_lunar_leap", "created_at", "updated_at",
]  # fmt: skip
KINDS = (("earn", 1), ("bonus", 1), ("redeem", -1), ("expire", -1))


def ledger(start: int, count: int, next_id: int) -> list[tuple[Any, ...]]:
    rnd = random.Random(start + 1)
    rows = []
    for member in range(start, start + count):
        for _ in range(2):
            kind, sign = KINDS[rnd.randrange(4)] if rnd.random() < 0.5 else KINDS[0]
            at = NOW - timedelta(minutes=rnd.randrange(0, 400 * 24 * 60))
            points = sign * rnd.randrange(10, 500)
            rows.append((next_id, member, kind, points, 0, 0, "bench", f"b{next_id}", at))
            next_id += 1
    return rows


LEDGER_COLUMNS = [
    "id", "member_id", "kind", "points", "balance_after", "debt_after", "reason", "ref",
    "created_at",
]  # fmt: skip


async def load(url: str, n: int, target: int) -> None:
    started = time.perf_counter()
    await migrate(url)
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(
            "TRUNCATE member, ledger_entry, outbox_message, follow_event, purchase, staff_user, "
            "audit_log RESTART IDENTITY CASCADE"
        )
        ledger_id = 1
        for start in range(1, n + 1, 100_000):
            count = min(100_000, n + 1 - start)
            await conn.copy_records_to_table(
                "member", records=members(start, count), columns=MEMBER_COLUMNS
            )
            rows = ledger(start, count, ledger_id)
            ledger_id += len(rows)
            await conn.copy_records_to_table("ledger_entry", records=rows, columns=LEDGER_COLUMNS)
        await conn.execute(
            "INSERT INTO follow_event (member_id, kind, at, wechat_create_time) "
            "SELECT id, 'unsubscribe', joined_at + interval '30 days', id FROM member "
            "WHERE status = 'unfollowed'"
        )
        rnd = random.Random(3)
        outbox = []
        for i in range(300_000):
            at = NOW - timedelta(minutes=rnd.randrange(0, 60 * 24 * 60))
            channel = ("custom", "template", "mass")[rnd.randrange(3)]
            status = "failed" if rnd.random() < 0.04 else "sent"
            member = rnd.randrange(1, n + 1)
            outbox.append(
                (f"bench:{i}", f"oBench{member:010d}", member, "notice", channel, "{}", status,
                 False, 1, at, at, at)
            )  # fmt: skip
        await conn.copy_records_to_table(
            "outbox_message",
            records=outbox,
            columns=["idempotency_key", "openid", "member_id", "kind", "channel", "payload",
                     "status", "dry_run", "attempts", "created_at", "updated_at", "sent_at"],
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO purchase (order_id, member_id, amount_fen, points_earned, balance_after, "
            "tier_before, tier_after, created_at, returned_fen, points_reversed) "
            "VALUES ($1, $2, $3, $4, 0, 'taste', 'taste', $5, 0, 0)",
            [(f"B-{i}", target, 12_800 + i, 128, NOW - timedelta(days=9 * i)) for i in range(40)],
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(f"loaded {n:,} members in {time.perf_counter() - started:.0f} s")


def console_setup() -> Any:
    """`console.setup`: this script is bench/console.py, which a plain `import console` (here or
    in clubbot.web) would find first (its folder leads sys.path), so the folder is left out."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from console.app import setup

    return setup


async def timed(session: aiohttp.ClientSession, url: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        async with session.get(url, allow_redirects=False) as resp:
            body = await resp.text()
            assert resp.status == 200, (url, resp.status, body[:300])
        times.append(time.perf_counter() - started)
    return times


async def measure(url: str, repeat: int, target: int) -> None:
    async with database(url):
        with contextlib.suppress(StaffError):  # there from an earlier run (--skip-load)
            await create_staff("bench-admin", "admin", now=NOW)
        await set_password("bench-admin", PASSWORD, now=NOW)
    settings = Settings.from_env(
        database_url=url,
        redis_url=None,
        wechat_appid="wxbench",
        wechat_secret="bench-secret",
        wechat_token="bench-token",
        wechat_dry_run=True,
        _env_file=None,
    )
    setup = console_setup()
    from clubbot.web import create_app  # after console_setup: it imports the console package

    app = create_app(settings, clock=FixedClock(NOW), store=in_process_store(), create_schema=False)
    setup(app)
    async with served(app) as base:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(base + "/console/login") as resp:
                html = await resp.text()
            token = html.split('name="csrf_token" value="')[1].split('"')[0]
            form = {"csrf_token": token, "name": "bench-admin", "password": PASSWORD}
            async with session.post(
                base + "/console/login", data=form, allow_redirects=False
            ) as resp:
                assert resp.status == 303, await resp.text()
            phone_end = await _phone_end(url, target)
            pages = [
                ("dashboard", "/console"),
                ("member page", f"/console/members/{target}"),
                ("search: last four of a phone", f"/console/members?q={phone_end}"),
                ("search: part of a name", "/console/members?q=王伟"),
                ("search: a name nobody has", "/console/members?q=欧阳"),
                ("search: openid", f"/console/members?q=oBench{target:010d}"),
                ("search: member number", f"/console/members?q={target}"),
            ]
            print(f"{'page':32} {'min':>8} {'median':>8} {'max':>8}   (seconds, {repeat} requests)")
            for label, path in pages:
                times = await timed(session, base + path, repeat)
                show(label, times)
            await campaign_pages(session, base, repeat, url)


def show(label: str, times: list[float]) -> None:
    print(f"{label:32} {min(times):8.3f} {statistics.median(times):8.3f} {max(times):8.3f}")


async def campaign_pages(session: aiohttp.ClientSession, base: str, repeat: int, url: str) -> None:
    """The campaign, report and ticket pages; a campaign is saved through the composer."""
    async with session.get(base + "/console/campaigns/new") as resp:
        html = await resp.text()
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    rule = '{"rule": "and", "rules": [{"rule": "tier", "tiers": ["gold"]}, ' \
        '{"rule": "last_purchase", "within_days": 365}]}'  # fmt: skip
    counts = []
    for _ in range(repeat):
        started = time.perf_counter()
        async with session.post(
            base + "/console/segments/count", data={"csrf_token": token, "rule": rule}
        ) as resp:
            assert resp.status == 200, await resp.text()
            found = await resp.json()
        counts.append(time.perf_counter() - started)
    show(f"segment count ({found['count']:,})", counts)
    form = {
        "csrf_token": token,
        "name": f"bench {time.time():.0f}",
        "segment_id": "new",
        "rule": rule,
        "text": "金卡会员专享品鉴会",
        "holdout_percent": "10",
    }
    started = time.perf_counter()
    async with session.post(base + "/console/campaigns", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, (await resp.text())[:500]
        location = resp.headers["Location"]
    show("save a campaign (once)", [time.perf_counter() - started])
    pages = [
        ("campaign list", "/console/campaigns"),
        ("campaign composer", "/console/campaigns/new"),
        ("campaign page (channel plan)", location),
        *((f"report: {name}", f"/console/reports/{name}") for name in REPORT_PAGES),
        ("ticket queue", "/console/tickets"),
        ("stores (first 200 with their forms)", "/console/stores"),
    ]
    ticket = await _first_ticket(url)
    if ticket is not None:
        pages.append(("ticket page", f"/console/tickets/{ticket}"))
    for label, path in pages:
        show(label, await timed(session, base + path, repeat))


REPORT_PAGES = ("pareto", "rfm", "classes", "quadrants", "churn", "exits", "channels", "tiers")


async def _first_ticket(url: str) -> int | None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        found = await conn.fetchval(
            "SELECT id FROM ticket WHERE status = 'open' ORDER BY id LIMIT 1"
        )
    finally:
        await conn.close()
    return None if found is None else int(found)


async def _phone_end(url: str, target: int) -> str:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        phone = await conn.fetchval("SELECT phone FROM member WHERE id = $1", target)
    finally:
        await conn.close()
    return str(phone)[-4:]


async def main(url: str, n: int, skip_load: bool, repeat: int) -> None:
    target = min(TARGET, n)
    if not skip_load:
        await load(url, n, target)
    await measure(url, repeat, target)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/clubbot_console")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.database, args.members, args.skip_load, args.repeat))
