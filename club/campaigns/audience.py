"""A run's audience, frozen into recipient rows by one INSERT ... SELECT when it starts.

The segment's condition (`club.segments`) picks the members in the database; each gets a row
with its chunk (500 rows a chunk, in member id order) and whether it is held out (drawn from the
campaign's seed, `club.rules.campaigns.HOLDOUT_SQL`). Members already recipients of the campaign
are left out: a one-off campaign starts once, and an automation's run takes only the members who
entered its segment since its last run (each member at most once per automation). Nothing about
the members passes through Python.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from club.db.models.campaigns import Campaign, CampaignChunk
from club.db.raw import Params, dialect, execute, rows
from club.rules.campaigns import HOLDOUT_SQL
from club.rules.programme import Programme
from club.segments import service as segments

CHUNK = 500
"""Recipients a queue task takes (one task per message ran at ~1k/s; chunks do not)."""


async def segment_size(segment_id: int, programme: Programme, now: datetime) -> int:
    segment = await segments.get_segment(segment_id)
    params = Params(dialect())
    where = segments.condition(segment, params, programme, now)
    found = await rows(f"SELECT COUNT(*) AS n FROM member m WHERE {where}", params.values)
    return int(found[0]["n"])


async def freeze(
    campaign: Campaign,
    run_id: int,
    programme: Programme,
    now: datetime,
    conn: BaseDBAsyncClient,
) -> tuple[int, int]:
    """Write the run's recipient rows; (recipients, held out)."""
    segment = await segments.get_segment(campaign.segment_id)
    params = Params(dialect(conn))
    where = segments.condition(segment, params, programme, now)
    c, r = params.add(campaign.id), params.add(run_id)
    held = HOLDOUT_SQL.format(
        member="m.id", seed=params.add(campaign.seed), share=params.add(campaign.holdout_bp)
    )
    size = params.add(CHUNK)
    sql = f"""
INSERT INTO campaign_recipient
    (campaign_id, run_id, member_id, openid, holdout, chunk, state, points, bonus_reserved)
SELECT {c}, {r}, m.id, m.openid, ({held}),
       (ROW_NUMBER() OVER (ORDER BY m.id) - 1) / {size},
       CASE WHEN ({held}) THEN 'holdout' ELSE 'pending' END, 0, 0
FROM member m
WHERE {where}
  AND NOT EXISTS (
    SELECT 1 FROM campaign_recipient x WHERE x.campaign_id = {c} AND x.member_id = m.id
  )
"""
    await execute(sql, params.values, conn)
    counted = await rows(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN holdout THEN 1 ELSE 0 END), 0) AS held "
        "FROM campaign_recipient WHERE run_id = $1",
        [run_id],
        conn,
    )
    return int(counted[0]["n"]), int(counted[0]["held"])


async def add_chunks(run_id: int, count: int, conn: BaseDBAsyncClient) -> None:
    await CampaignChunk.bulk_create(
        [CampaignChunk(run_id=run_id, number=n) for n in range(count)], using_db=conn
    )


def chunks_for(recipients: int) -> int:
    return (recipients + CHUNK - 1) // CHUNK
