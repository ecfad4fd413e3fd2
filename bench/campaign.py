"""Campaigns at scale on PostgreSQL and Redis, against the fake WeChat API as a local server.

    .venv/bin/python bench/campaign.py --members 1000000 \
        --database postgres://postgres@127.0.0.1:5432/clubbot_campaigns \
        --redis redis://127.0.0.1:6379/5

Drops the database's schema and flushes the Redis db first. Measures, printing each figure:
1. plan: a 1,000,000-member segment (every member, loaded by one INSERT ... SELECT from
   generate_series), frozen into recipient rows with a 10% holdout drawn from the seed, its
   chunk rows written and every chunk queued to the Redis stream: wall time and the peak RSS
   of this process (the freeze runs in PostgreSQL: nothing about the members enters Python);
2. tag: the mass send of the whole frozen audience (all recipients sent to the mass phase):
   tag every member 50 a call, one sendall, against the fake server (its own process);
3. send rate: two `python -m scheduler worker` processes sending a 20,000-member campaign by
   template to the fake server, unpaced (the ceiling: the programme's max_per_second raised to
   10,000) and paced (`--pace`, default 300 a second): the rate between the first and the last
   send (outbox `sent_at`), and for the paced run its ratio to the setting. `--bonus N` gives
   those campaigns a bonus of N points each (budget for all).
4. fan-out (`--fanout N`, after the others): campaigns to N members each, with a bonus of 10
   points and without, alternately (`--rounds`), their batches of 50 planned and sent by this
   process (a dry-run sender, unpaced): each batch's planning transaction (`prepare`: the
   bonus reserved, or, before the bonus went with the message, credited) and its sends (`send`:
   with the bonus settled after them), mean and 95th percentile a batch, and the bonus's share.
   `--steps fanout` runs it alone (it needs `--members` at least N).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.members_sql import insert_members  # noqa: E402
from bench.schema import fresh_schema  # noqa: E402
from bot.kv import open_store  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.pacing import RedisPacer  # noqa: E402
from bot.queue import CampaignFeeder, build_broker  # noqa: E402
from bot.wechat.api import account_client  # noqa: E402
from bot.wechat.sender import DryRunSender, WeChatMassSender  # noqa: E402
from club.campaigns import lifecycle  # noqa: E402
from club.campaigns import message as msg  # noqa: E402
from club.campaigns.context import CampaignContext  # noqa: E402
from club.campaigns.fanout import prepare, send  # noqa: E402
from club.campaigns.mass import advance_mass  # noqa: E402
from club.campaigns.runs import start_run  # noqa: E402
from club.clock import SystemClock  # noqa: E402
from club.db.connect import database  # noqa: E402
from club.db.models.campaigns import CampaignRecipient, CampaignRun, MassSend  # noqa: E402
from club.db.models.segments import Segment, SegmentKind  # noqa: E402
from club.db.models.staff import StaffRole  # noqa: E402
from club.messaging.delivery import Delivery  # noqa: E402
from club.messaging.outbox import Outbox  # noqa: E402
from club.messaging.pacing import Unpaced  # noqa: E402
from club.messaging.plan import delivery_rules  # noqa: E402
from club.programme.source import load_programme  # noqa: E402
from club.rules.campaigns import RecipientState, RunStatus  # noqa: E402
from club.staff.accounts import StaffIdentity  # noqa: E402
from config import Settings  # noqa: E402
from tests.club.campaign_support import programme_file  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
STAFF = StaffIdentity(1, "bench", StaffRole.MARKETER)
APPID = "wx5823bf96d3bd56c7"
RATE_MEMBERS = 20_000

_LOAD = insert_members("oBench")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(label: str, seconds: float, extra: str = "") -> None:
    print(f"{label:<46} {seconds:8.2f} s   {extra}", flush=True)


async def reset(pg_url: str, redis_url: str) -> None:
    await fresh_schema(pg_url)
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()


async def load(pg_url: str, members: int, now: datetime) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(_LOAD, members, now)
        await conn.execute("ANALYZE member")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def segment(name: str, rule: dict[str, Any], now: datetime) -> int:
    found = await Segment.create(name=name, kind=SegmentKind.RULE, rule=rule, created_at=now)
    return found.id


async def campaign(
    ctx: CampaignContext, segment_id: int, *, pace: int | None, holdout: int, bonus: int = 0
) -> Any:
    now = ctx.clock.now()
    spec = lifecycle.Spec(
        f"bench {segment_id}",
        segment_id,
        msg.CampaignMessage("双十二会员日"),
        pace=pace,
        holdout_bp=holdout,
        bonus_points=bonus,
        budget_points=bonus * 10_000_000,
    )
    made = await lifecycle.create(spec, programme=ctx.programme, now=now, staff=STAFF)
    await lifecycle.approve(made.id, programme=ctx.programme, now=now, staff=STAFF)
    await lifecycle.schedule(made.id, send_at=None, programme=ctx.programme, now=now, staff=STAFF)
    return await lifecycle.get(made.id)


async def plan(ctx: CampaignContext, members: int) -> CampaignRun:
    now = ctx.clock.now()
    everyone = await segment("everyone", {"rule": "joined"}, now)
    made = await campaign(ctx, everyone, pace=None, holdout=1000)
    before = rss_mib()
    started = time.perf_counter()
    run = await start_run(ctx, made, now.date(), now)
    elapsed = time.perf_counter() - started
    assert run is not None
    line(
        f"plan: freeze {run.recipients:,}, hold out, queue {run.chunks:,} chunks",
        elapsed,
        f"held out {run.held_out:,}   peak RSS {rss_mib():.0f} MiB (before {before:.0f} MiB)",
    )
    return run


async def tag_all(ctx: CampaignContext, run: CampaignRun) -> None:
    """The whole audience by mass send: as if every chunk had found no other channel."""
    moved = await CampaignRecipient.filter(run_id=run.id, state=RecipientState.PENDING).update(
        state=RecipientState.MASS
    )
    await CampaignRun.filter(id=run.id).update(status=RunStatus.MASS)
    started = time.perf_counter()
    counts = await advance_mass(ctx, run.id)
    elapsed = time.perf_counter() - started
    send = await MassSend.get(run_id=run.id)
    line(
        f"tag {moved:,} members, 50 a call, and send",
        elapsed,
        f"{counts['tagged'] / elapsed:,.0f} members/s   mass send {send.status.value}   "
        f"peak RSS {rss_mib():.0f} MiB",
    )


async def start_workers(env: dict[str, str], n: int) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scheduler",
            "worker",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(n)
    ]


async def tag_members(pg_url: str, tag: str, first_id: int, count: int) -> None:
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(
            "INSERT INTO member_tag (member_id, tag, created_at) "
            "SELECT g, $1, now() FROM generate_series($2::bigint, $3::bigint) AS g",
            tag,
            first_id,
            first_id + count - 1,
        )
    finally:
        await conn.close()


async def send_rate(
    ctx: CampaignContext, pg_url: str, tag: str, pace: int | None, first_id: int, bonus: int
) -> float:
    """A campaign to RATE_MEMBERS members (a tag) sent by the running workers; msg/s."""
    await tag_members(pg_url, tag, first_id, RATE_MEMBERS)
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        now = ctx.clock.now()
        tagged = await segment(tag, {"rule": "tags", "tags": [tag]}, now)
        made = await campaign(ctx, tagged, pace=pace, holdout=0, bonus=bonus)
        run = await start_run(ctx, made, now.date(), now)
        assert run is not None
        for _ in range(3600):
            left = await conn.fetchval(
                "SELECT COUNT(*) FROM campaign_recipient r LEFT JOIN outbox_message o "
                "ON o.id = r.outbox_id WHERE r.run_id = $1 AND "
                "(r.state = 'pending' OR o.status IN ('queued', 'sending'))",
                run.id,
            )
            if left == 0:
                break
            await asyncio.sleep(0.5)
        first, last, sent = await conn.fetchrow(
            "SELECT min(o.sent_at), max(o.sent_at), count(*) FROM campaign_recipient r "
            "JOIN outbox_message o ON o.id = r.outbox_id WHERE r.run_id = $1 "
            "AND o.status = 'sent'",
            run.id,
        )
    finally:
        await conn.close()
    rate = (sent - 1) / (last - first).total_seconds()
    label = "unpaced (the ceiling)" if pace is None else f"paced at {pace}/s"
    label += f", bonus {bonus}" if bonus else ""
    ratio = "" if pace is None else f"   {rate / pace:.3f} of the setting"
    line(
        f"send {sent:,} by template, 2 workers, {label}",
        (last - first).total_seconds(),
        f"{rate:,.0f} msg/s{ratio}",
    )
    return rate


def spread(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"mean {1000 * statistics.fmean(ordered):6.1f} ms  p95 {1000 * p95:6.1f} ms"


async def fanout_round(
    ctx: CampaignContext, pg_url: str, members: int, bonus: int, n: int
) -> tuple[list[float], list[float]]:
    """A campaign to `members` members planned and sent here, batch by batch: the seconds of
    each batch's `prepare` and `send`."""
    tag = f"fanout-{n}"
    await tag_members(pg_url, tag, 1, members)
    now = ctx.clock.now()
    made = await campaign(
        ctx, await segment(tag, {"rule": "tags", "tags": [tag]}, now), pace=None, holdout=0,
        bonus=bonus,
    )  # fmt: skip
    run = await start_run(ctx, made, now.date(), now)
    assert run is not None
    planned: list[float] = []
    sent: list[float] = []
    counts: Counter[str] = Counter()
    for number in range(run.chunks):
        while True:
            started = time.perf_counter()
            batch = await prepare(ctx, made, run, number, ctx.clock.now())
            if batch is None:
                break
            planned.append(time.perf_counter() - started)
            started = time.perf_counter()
            await send(ctx, made, batch.to_send, counts)
            sent.append(time.perf_counter() - started)
    return planned, sent


async def fanout(ctx: CampaignContext, pg_url: str, members: int, rounds: int) -> None:
    """Step 4: campaigns with and without a bonus, alternately; per batch of 50."""
    found: dict[int, tuple[list[float], list[float]]] = {0: ([], []), 10: ([], [])}
    n = 0
    for _ in range(rounds):
        for bonus in (0, 10):
            n += 1
            planned, sent = await fanout_round(ctx, pg_url, members, bonus, n)
            found[bonus][0].extend(planned)
            found[bonus][1].extend(sent)
    for bonus, (planned, sent) in found.items():
        total = [a + b for a, b in zip(planned, sent, strict=True)]
        print(
            f"fan-out, bonus {bonus:>2}, {len(planned)} batches of 50: prepare {spread(planned)}"
            f"   send {spread(sent)}   both {spread(total)}",
            flush=True,
        )
    without = statistics.fmean(a + b for a, b in zip(*found[0], strict=True))
    with_bonus = statistics.fmean(a + b for a, b in zip(*found[10], strict=True))
    print(f"fan-out: a batch with a bonus takes {with_bonus / without:.2f} x one without")


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="clubbot-bench-"))
    config = programme_file(
        folder,
        quiet_start="00:00",
        quiet_end="00:00",
        max_per_second=10_000,
        tag_calls_per_second=args.tag_calls,
        marketing_per_week=100,
    )
    programme = load_programme(config)
    clock = SystemClock(TZ)
    await reset(args.database, args.redis)
    loaded = await load(args.database, args.members, clock.now())
    print(f"loaded {args.members:,} members in {loaded:.1f} s")
    fake = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "fake_wechat.py"),
        "--port",
        str(args.fake_port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert fake.stdout is not None
    api_base = (await fake.stdout.readline()).decode().strip()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        WECHAT_APPID=APPID,
        WECHAT_SECRET="test-secret",
        WECHAT_TOKEN="QDG6eK",
        WECHAT_API_BASE=api_base,
        WECHAT_DRY_RUN="false",
        CLUB_CONFIG=str(config),
        LOG_LEVEL="WARNING",
    )
    settings = Settings.from_env(
        wechat_appid=APPID,
        wechat_secret="test-secret",
        wechat_token="QDG6eK",
        wechat_api_base=api_base,
        database_url=args.database,
        redis_url=args.redis,
        wechat_dry_run=False,
        _env_file=None,
    )
    broker = build_broker(args.redis)
    await broker.startup()
    store = open_store(settings)
    workers: list[asyncio.subprocess.Process] = []
    try:
        async with database(args.database), aiohttp.ClientSession() as http:
            api = account_client(settings, http=http, store=store, metrics=Metrics())
            delivery = Delivery(DryRunSender(), delivery_rules(programme), clock)
            ctx = CampaignContext(
                programme,
                clock,
                Outbox(programme),
                delivery,
                RedisPacer(store),
                WeChatMassSender(api),
                CampaignFeeder(broker),
            )
            steps = set(args.steps.split(","))
            if "plan" in steps:
                run = await plan(ctx, args.members)
                # The planned chunks stay queued: the workers find their run in its mass send
                # (step 2) and drop them. (The stream is not deleted: its consumer group must
                # stay.)
                if "tag" in steps:
                    await tag_all(ctx, run)
            if "rate" in steps:
                workers = await start_workers(env, 2)
                await send_rate(ctx, args.database, "rate-unpaced", None, 1, args.bonus)
                await send_rate(
                    ctx, args.database, "rate-paced", args.pace, RATE_MEMBERS + 1, args.bonus
                )
            if "fanout" in steps:
                here = dataclasses.replace(
                    ctx, delivery=Delivery(DryRunSender(), delivery_rules(programme), clock),
                    pacer=Unpaced(), feed=None,
                )  # fmt: skip
                await fanout(here, args.database, args.fanout, args.rounds)
    finally:
        for proc in [*workers, fake]:
            proc.terminate()
            await proc.wait()
        await broker.shutdown()
        await store.aclose()
    print(f"process peak RSS {rss_mib():.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/clubbot_campaigns"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--pace", type=int, default=300)
    parser.add_argument("--tag-calls", type=int, default=1000, help="tagging calls a second")
    parser.add_argument("--fake-port", type=int, default=18081)
    parser.add_argument("--bonus", type=int, default=0, help="the send-rate campaigns' bonus")
    parser.add_argument("--steps", default="plan,tag,rate", help="of plan,tag,rate,fanout")
    parser.add_argument("--fanout", type=int, default=5000, help="members of a fan-out round")
    parser.add_argument("--rounds", type=int, default=3, help="fan-out rounds (each with, without)")
    asyncio.run(main(parser.parse_args()))
