"""The campaign list's progress over many big finished campaigns, on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres clubbot_list_bench
    .venv/bin/python bench/campaign_list.py            # 20 campaigns of 50,000 recipients

Drops the database's schema, applies the migrations and generates (set-based SQL) the members,
then each campaign: one finished run, its recipients and their sent outbox rows. Then it times
the progress of all of them (`progress_of`, what the list, the dashboard and `/metrics` read):
the first read counts every recipient and stores each finished run's counts; later reads read
the stored counts. A finished run's counts never change, so they are counted once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.members_sql import insert_members
from bench.schema import fresh_schema
from club.campaigns.progress import progress_of
from club.campaigns.views import campaign_list
from club.db.connect import database
from club.db.models.campaigns import Campaign, CampaignRun
from club.db.models.segments import Segment

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clubbot_list_bench"

_OUTBOX = """
INSERT INTO outbox_message (idempotency_key, openid, member_id, kind, channel, payload, status,
                            dry_run, attempts, created_at, updated_at, sent_at)
SELECT 'bench:' || $1::text || ':' || m.id, m.openid, m.id, 'campaign', 'custom', '{}', 'sent',
       false, 1, $2, $2, $2
FROM member m
"""
_RECIPIENTS = """
INSERT INTO campaign_recipient (campaign_id, run_id, member_id, openid, holdout, chunk, state,
                                outbox_id, points)
SELECT $1::bigint, $2::bigint, o.member_id, o.openid, false, 0, 'messaged', o.id, 0
FROM outbox_message o WHERE o.idempotency_key LIKE 'bench:' || $1::bigint::text || ':%'
"""


async def load(url: str, members: int, campaigns: int) -> list[int]:
    await fresh_schema(url)
    ids: list[int] = []
    async with database(url):
        raw = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            await raw.execute(insert_members("o-list-"), members, NOW)
            segment = await Segment.create(
                name="everyone", kind="rule", rule={"rule": "joined"}, created_at=NOW
            )
            for n in range(campaigns):
                campaign = await Campaign.create(
                    name=f"campaign {n}",
                    segment_id=segment.id,
                    status="done",
                    message={"text": "x"},
                    seed=n,
                    created_at=NOW,
                    updated_at=NOW,
                )
                run = await CampaignRun.create(
                    campaign_id=campaign.id,
                    day=NOW.date(),
                    status="done",
                    recipients=members,
                    started_at=NOW,
                    finished_at=NOW,
                )
                await raw.execute(_OUTBOX, str(campaign.id), NOW)
                await raw.execute(_RECIPIENTS, campaign.id, run.id)
                ids.append(campaign.id)
            await raw.execute("VACUUM ANALYZE")
        finally:
            await raw.close()
    return ids


async def measure(url: str, ids: list[int]) -> None:
    async with database(url):
        for label in ("first read (counts, stores)", "second read (stored)", "third read"):
            started = time.perf_counter()
            found = await progress_of(ids)
            took = time.perf_counter() - started
            sent = sum(p.sent for p in found.values())
            print(f"progress of {len(ids)} campaigns, {label:<28} {took:7.3f} s   sent {sent:,}")
        started = time.perf_counter()
        listed = await campaign_list(limit=50)
        took = time.perf_counter() - started
        print(f"campaign list page of {len(listed)}{'':<25} {took:7.3f} s")


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    ids = await load(args.database, args.members, args.campaigns)
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    await measure(args.database, ids)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--campaigns", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
