"""A campaign's bonus points go with its message, against the fake WeChat server: a member keeps
the bonus only if the message went to them or may have; a member whose message was withdrawn
(the campaign cancelled) or whose mass send never went ends without it, and never sees it in
`明细` (not even a credit and its reversal); the budget they held goes back, and the campaign's
figures (points awarded, the cost) count only the points kept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.kv import Redis
from club.campaigns import tick
from club.clock import FixedClock
from club.db.models.campaigns import Campaign
from club.db.models.ledger import LedgerEntry
from config import Settings
from handlers.texts import t
from tests.bot.test_staff_api_campaign_mass_cancel import a_day_of_ticks, tagging
from tests.bot.test_staff_api_campaign_pause import CANCELLED, press, quiet_ten_minutes, read
from tests.bot.test_staff_api_campaigns import campaign_body
from tests.bot.test_staff_api_support import Client, staff_headers
from tests.club.campaign_support import (
    deps_of,
    everyone_segment,
    member,
    programme_file,
    settle,
    work_in_process,
)
from tests.conftest import make_settings
from tests.fakes import FakeWeChat
from tests.handlers.chat import Chat

TEMPLATE = "message/template/send"
SENDALL = "message/mass/sendall"
BONUS = 10
BONUS_LINE = f"2026年11月23日 +{BONUS} 活动奖励 中秋品鉴"
"""The campaign's bonus as `明细` shows it (the campaign is named 中秋品鉴)."""
SLOW = 0.5
"""Seconds the fake takes to answer a template send: cancel is pressed while some are in flight."""
IN_FLIGHT = 8
"""Sends a worker has in flight (`SEND_CONCURRENCY`): those go whatever staff press."""


@pytest.fixture(name="settings")
def settings_with_fake_wechat(
    fake_wechat: FakeWeChat, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    """`@pytest.mark.campaigns(key=value)` changes the programme's [campaigns] settings."""
    marker = request.node.get_closest_marker("campaigns")
    config = programme_file(tmp_path, **marker.kwargs) if marker else None
    return make_settings(
        wechat_api_base=fake_wechat.base_url, wechat_dry_run=False, club_config=config
    )


async def a_campaign(client: Client, members: int, budget: int) -> tuple[int, dict[str, Any]]:
    """A campaign with a bonus of 10 to `members` members outside their window, sent."""
    headers = (await staff_headers())["marketer"]
    now = deps_of(client).clock.now()
    for i in range(members):
        await member(f"o-bonus-{i:03d}", now)
    segment = await everyone_segment(now)
    body = campaign_body(segment.id, bonus_points=BONUS, budget_points=budget)
    resp = await client.post("/api/v1/campaigns", json=body, headers=headers)
    cid = int((await resp.json())["id"])
    resp = await client.post(f"/api/v1/campaigns/{cid}/send", json={}, headers=headers)
    assert resp.status == 200, await resp.text()
    return cid, headers


async def history(client: Client, clock: FixedClock, store: Redis, openid: str) -> list[str]:
    """The member's `明细` as the chat shows it, without its heading."""
    answer = await Chat(client, clock, store, openid).say("明细")
    if answer == t("history_empty", "zh"):
        return []
    heading, *lines = answer.split("\n")
    assert heading == t("history_header", "zh")
    return lines


async def credited(cid: int) -> list[str]:
    """The members' openids the campaign's bonus was credited to, one per credit."""
    entries = await LedgerEntry.filter(ref__startswith=f"campaign:{cid}:").prefetch_related(
        "member"
    )
    assert {e.points for e in entries} <= {BONUS}
    return sorted(e.member.openid for e in entries)


async def figures(client: Client, cid: int, headers: dict[str, Any]) -> tuple[int, int, int, int]:
    """(points awarded, as the progress counts them, the effect's cost in points, reserved)."""
    found = await read(client, cid, headers)
    campaign = await Campaign.get(id=cid)
    return (
        found["points_awarded"],
        found["progress"]["points_awarded"],
        found["effect"]["cost"]["points"],
        campaign.points_reserved,
    )


async def test_cancelled_while_template_messages_wait_only_those_sent_keep_the_bonus(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, store: Redis
) -> None:
    cid, headers = await a_campaign(client, 60, budget=10_000)
    fake_wechat.slow(TEMPLATE, SLOW)
    deps = deps_of(client)
    work_in_process(deps)
    assert (await tick.tick(deps.campaigns, clock.now()))["started"] == 1
    for _ in range(200):
        if fake_wechat.count(TEMPLATE) >= 3:
            break
        await asyncio.sleep(0.01)
    await press(client, cid, "cancel", headers)  # the batch's other 42 templates are waiting
    await quiet_ten_minutes(client, clock)

    got = sorted(c.body["touser"] for c in fake_wechat.calls(TEMPLATE))
    assert len(got) == IN_FLIGHT
    found = await read(client, cid, headers)
    assert found["progress"]["skipped"] == {CANCELLED: 60 - IN_FLIGHT}
    assert await credited(cid) == got  # the withdrawn and the never planned: nothing
    assert await figures(client, cid, headers) == (IN_FLIGHT * BONUS,) * 3 + (0,)
    assert await history(client, clock, store, got[0]) == [BONUS_LINE]
    withdrawn = next(f"o-bonus-{i:03d}" for i in range(60) if f"o-bonus-{i:03d}" not in got)
    assert await history(client, clock, store, withdrawn) == []


async def test_a_message_wechat_refused_gives_its_bonus_back_for_the_next_members(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, store: Redis
) -> None:
    """The budget covers the first batch of 50; five of them refused messages (43004): their
    bonus goes to five of the next batch, so the whole budget goes to members who got it."""
    fake_wechat.script(TEMPLATE, [43004] * 5)
    cid, headers = await a_campaign(client, 60, budget=50 * BONUS)
    await settle(client)

    got = sorted(set(fake_wechat.delivered("template")))
    assert len(got) == 55
    kept = await credited(cid)
    assert len(kept) == 50 and set(kept) <= set(got)
    assert await figures(client, cid, headers) == (50 * BONUS,) * 3 + (0,)
    refused = sorted(c.body["touser"] for c in fake_wechat.calls(TEMPLATE)[:5])
    assert await history(client, clock, store, refused[0]) == []


async def mass_waiting(client: Client, members: int) -> tuple[int, dict[str, Any]]:
    """A campaign whose members all wait for its mass send (chunk done, nothing tagged yet)."""
    cid, headers = await a_campaign(client, members, budget=10_000)
    await settle(client, rounds=1)
    found = await read(client, cid, headers)
    assert found["progress"]["mass_waiting"] == members
    return cid, headers


@pytest.mark.campaigns(template_daily_quota=0)
async def test_cancelled_before_the_mass_send_went_nobody_keeps_the_bonus(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, store: Redis
) -> None:
    cid, headers = await mass_waiting(client, 120)
    await tagging(client, fake_wechat)
    await press(client, cid, "cancel", headers)
    await a_day_of_ticks(client, clock)

    assert fake_wechat.count(SENDALL) == 0
    assert (await read(client, cid, headers))["progress"]["skipped"] == {CANCELLED: 120}
    assert await credited(cid) == []
    assert await figures(client, cid, headers) == (0, 0, 0, 0)
    assert await history(client, clock, store, "o-bonus-007") == []


@pytest.mark.campaigns(template_daily_quota=0)
async def test_a_mass_send_that_went_keeps_the_bonus_when_the_campaign_is_cancelled_after(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, store: Redis
) -> None:
    cid, headers = await mass_waiting(client, 60)
    await settle(client)  # tagged and sent: WeChat took it
    assert fake_wechat.count(SENDALL) == 1
    await press(client, cid, "cancel", headers)
    await a_day_of_ticks(client, clock)

    assert (await read(client, cid, headers))["progress"]["sent_by_channel"] == {"mass": 60}
    assert await credited(cid) == [f"o-bonus-{i:03d}" for i in range(60)]  # once each
    assert await figures(client, cid, headers) == (60 * BONUS,) * 3 + (0,)
    assert await history(client, clock, store, "o-bonus-007") == [BONUS_LINE]
