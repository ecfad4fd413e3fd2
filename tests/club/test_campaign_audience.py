"""Freezing a run's audience: one statement, chunks in member order, the holdout drawn from the
campaign's seed identically in SQL (SQLite, PostgreSQL) and Python."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from club.campaigns.audience import CHUNK, freeze
from club.db import tx
from club.db.models.campaigns import Campaign, CampaignRecipient, CampaignRun
from club.db.models.members import Member
from club.db.models.segments import Segment, SegmentKind
from club.programme.demo import demo_programme
from club.rules.campaigns import HOLDOUT_SQL, RecipientState, held_out, seed_range

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


async def test_the_audience_is_frozen_in_chunks_with_a_reproducible_holdout(db: None) -> None:
    await Member.bulk_create(
        [Member(openid=f"o-{i:05d}", joined_at=NOW, consent_at=NOW) for i in range(1200)]
    )
    await Member.create(openid="o-never-joined")
    segment = await Segment.create(
        name="joined", kind=SegmentKind.RULE, rule={"rule": "joined"}, created_at=NOW
    )
    campaign = await Campaign.create(
        name="c", segment=segment, message={"text": "hi"}, seed=123_456_789, holdout_bp=1000,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    run = await CampaignRun.create(campaign=campaign, day=NOW.date(), started_at=NOW)
    async with tx.transaction() as conn:
        total, held = await freeze(campaign, run.id, demo_programme(), NOW, conn)
    assert total == 1200
    rows = await CampaignRecipient.filter(run_id=run.id).order_by("member_id")
    assert [r.chunk for r in rows] == [i // CHUNK for i in range(1200)]
    expected = [held_out(r.member_id, campaign.seed, 1000) for r in rows]
    assert [r.holdout for r in rows] == expected
    assert held == sum(expected)
    assert 0.07 < held / total < 0.13
    assert {r.state for r in rows if r.holdout} == {RecipientState.HOLDOUT}
    # Frozen again (an automation's next run): nobody already a recipient comes back.
    run2 = await CampaignRun.create(
        campaign=campaign, day=NOW.date().replace(day=24), started_at=NOW
    )
    async with tx.transaction() as conn:
        assert await freeze(campaign, run2.id, demo_programme(), NOW, conn) == (0, 0)


@settings(max_examples=50, deadline=None)
@given(
    member_id=st.integers(min_value=1, max_value=2**62),
    seed=st.integers(*seed_range()),
    share=st.integers(min_value=0, max_value=10_000),
)
def test_the_sql_draw_is_the_python_draw(member_id: int, seed: int, share: int) -> None:
    import sqlite3

    sql = "SELECT " + HOLDOUT_SQL.format(member="?1", seed="?2", share="?3")
    with sqlite3.connect(":memory:") as conn:
        [(found,)] = conn.execute(sql, (member_id, seed, share)).fetchall()
    assert bool(found) == held_out(member_id, seed, share)
