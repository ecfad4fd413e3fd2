"""Helpers for campaign tests: members inside and outside their window, a segment, the app's
campaign services, and running what the scheduler and the workers would run."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.deps import DEPS, Deps
from bot.queue import InProcessCampaignFeed
from club.campaigns import lifecycle, tick
from club.campaigns import message as msg
from club.campaigns.fanout import run_chunk
from club.campaigns.runs import finish_runs, start_run
from club.db.models.members import Member, MemberStatus
from club.db.models.segments import Segment, SegmentKind
from club.db.models.staff import StaffRole
from club.programme.demo import DEMO_TOML
from club.rules.campaigns import Action
from club.staff.accounts import StaffIdentity

Client = TestClient[Any, Any]


async def member(
    openid: str, now: datetime, *, window: bool = False, tier: str = "taste", **fields: Any
) -> Member:
    """A joined member; `window`: wrote to the account an hour ago (customer service allowed)."""
    values: dict[str, Any] = {
        "name": openid,
        "consent_at": now - timedelta(days=30),
        "consent_version": "v1",
        "joined_at": now - timedelta(days=30),
        "tier": tier,
        "last_message_at": now - timedelta(hours=1) if window else None,
        "last_interaction_at": now - timedelta(hours=1) if window else None,
    }
    values.update(fields)
    return await Member.create(openid=openid, **values)


async def everyone_segment(now: datetime, name: str = "everyone") -> Segment:
    """A rule segment: every member who joined."""
    return await Segment.create(
        name=name, kind=SegmentKind.RULE, rule={"rule": "joined"}, created_at=now
    )


async def unfollowed(openid: str, now: datetime) -> Member:
    return await member(openid, now, status=MemberStatus.UNFOLLOWED)


def deps_of(client: Client) -> Deps:
    deps: Deps = client.app[DEPS]
    return deps


def work_in_process(deps: Deps) -> InProcessCampaignFeed:
    """Chunks sent by this process (with REDIS_URL the app hands them to queue workers, which a
    test of the web app does not run)."""
    feed = deps.campaigns.feed
    if isinstance(feed, InProcessCampaignFeed):
        return feed
    own = InProcessCampaignFeed()
    own.context = deps.campaigns
    deps.campaigns.feed = own
    return own


async def settle(client: Client, rounds: int = 3) -> Counter[str]:
    """What the scheduler's ticks and the workers do, until nothing is left."""
    deps = deps_of(client)
    feed = work_in_process(deps)
    total: Counter[str] = Counter()
    for _ in range(rounds):
        total += await tick.tick(deps.campaigns, deps.clock.now())
        await feed.drain()
        total += await deps.delivery.send_due()
    return total


def programme_file(folder: Path, **settings: int | str) -> Path:
    """The demo programme with some settings changed (keys that occur once in it, such as the
    [campaigns] ones or quiet_start), as a CLUB_CONFIG file."""
    text = DEMO_TOML
    for key, value in settings.items():
        shown = repr(value) if isinstance(value, str) else str(value)
        text, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {shown}", text)
        assert found == 1, key
    path = folder / "programme.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def campaigns_in_every_state(deps: Deps, segment_id: int, tag: str) -> dict[str, int]:
    """A campaign in each state a list shows, named `<state> <tag>`, by state: a draft, one
    scheduled for later, one sent (half held out), one paused and one cancelled once their
    audience was frozen, and an automation with a day's run."""
    ctx = dataclasses.replace(deps.campaigns, feed=None)  # chunks are run here
    now = ctx.clock.now()
    staff = StaffIdentity(1, "marketer-1", StaffRole.MARKETER)
    made: dict[str, int] = {}

    async def new(state: str, *, start: bool = False, **spec: Any) -> int:
        text = msg.CampaignMessage(f"品鉴 {tag}")
        campaign = await lifecycle.create(
            lifecycle.Spec(f"{state} {tag}", segment_id, text, **spec),
            programme=ctx.programme, now=now, staff=staff,
        )  # fmt: skip
        made[state] = campaign.id
        if state != "draft":
            later = now + timedelta(days=3) if state == "scheduled" else None
            await lifecycle.schedule(
                campaign.id, send_at=later, programme=ctx.programme, now=now, staff=staff
            )
        if start:
            run = await start_run(ctx, await lifecycle.get(campaign.id), now.date(), now)
            assert run is not None
            if state in ("done", "automation"):
                for number in range(run.chunks):
                    await run_chunk(ctx, run.id, number)
        return campaign.id

    for state in ("draft", "scheduled"):
        await new(state)
    await new("done", start=True, holdout_bp=5000)
    await new("automation", start=True, daily_at=time(9, 0))
    await finish_runs(ctx, now)
    for state, action in (("paused", Action.PAUSE), ("cancelled", Action.CANCEL)):
        campaign = await lifecycle.get(await new(state, start=True))
        await lifecycle.move(campaign, action, now, staff)
    return made
