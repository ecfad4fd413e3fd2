"""Cancelling a campaign whose mass send is under way, against the fake WeChat server: the
WeChat tag it made (with its tagged members) does not stay on the Official Account, and no
mass message goes after the cancel.

The programme's template quota is 0 here, so every member outside the window goes by the
mass send."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.kv import Redis
from club.campaigns import tick
from club.clock import FixedClock
from club.db.models.campaigns import CampaignRun, MassSend
from club.rules.campaigns import MassStatus, RunStatus
from config import Settings
from tests.bot.test_staff_api_campaign_pause import CANCELLED, press, read
from tests.bot.test_staff_api_campaigns import campaign_body, get_msg_id, mass_finished_xml
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

MEMBERS = 120
TAGGING = "tags/members/batchtagging"
SENDALL = "message/mass/sendall"


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat, tmp_path: Path) -> Settings:
    config = programme_file(tmp_path, template_daily_quota=0)
    return make_settings(
        wechat_api_base=fake_wechat.base_url, wechat_dry_run=False, club_config=config
    )


async def to_the_mass_send(client: Client) -> tuple[int, dict[str, Any]]:
    """A campaign whose members all wait for its mass send (chunks done, nothing tagged yet)."""
    headers = (await staff_headers())["marketer"]
    now = deps_of(client).clock.now()
    for i in range(MEMBERS):
        await member(f"o-mass-{i:03d}", now)
    segment = await everyone_segment(now)
    resp = await client.post("/api/v1/campaigns", json=campaign_body(segment.id), headers=headers)
    cid = int((await resp.json())["id"])
    await client.post(f"/api/v1/campaigns/{cid}/send", json={}, headers=headers)
    await settle(client, rounds=1)  # the chunk: every member to the mass send
    found = await read(client, cid, headers)
    assert found["progress"]["mass_waiting"] == MEMBERS
    return cid, headers


async def tagging(client: Client, fake: FakeWeChat) -> None:
    """The scheduler hands the mass send to a worker, whose tagging calls are in flight."""
    deps = deps_of(client)
    fake.slow(TAGGING, 0.3)
    work_in_process(deps)
    await tick.tick(deps.campaigns, deps.clock.now())  # the run moves on to its mass send
    await tick.tick(deps.campaigns, deps.clock.now())  # and a worker takes it up
    for _ in range(300):
        if fake.count(TAGGING) >= 1:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the mass send never started tagging")


async def a_day_of_ticks(client: Client, clock: FixedClock) -> None:
    for _ in range(3):
        clock.advance(timedelta(hours=9))
        await settle(client, rounds=1)


@pytest.mark.parametrize("paused_first", [False, True], ids=["while-tagging", "paused-first"])
async def test_cancelled_while_tagging_removes_the_tag_and_sends_nothing(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, paused_first: bool
) -> None:
    cid, headers = await to_the_mass_send(client)
    await tagging(client, fake_wechat)
    assert len(fake_wechat.tags) == 1
    if paused_first:  # the worker stops; nobody works on the mass send when it is cancelled
        await press(client, cid, "pause", headers)
        assert fake_wechat.tagged(next(iter(fake_wechat.tags)))
    await press(client, cid, "cancel", headers)
    await a_day_of_ticks(client, clock)

    assert fake_wechat.count(SENDALL) == 0  # nobody got the mass message
    assert fake_wechat.tags == {}  # the tag, with its members, is gone from the account
    assert fake_wechat.count("tags/delete") == 1  # deleted once, not at every tick
    found = await read(client, cid, headers)
    assert found["status"] == "cancelled"
    assert found["progress"]["skipped"] == {CANCELLED: MEMBERS}
    assert found["progress"]["sent"] == 0
    [run] = found["runs"]
    assert run["status"] == "cancelled"
    assert run["mass"]["status"] == "failed"
    assert run["mass"]["result"] == "campaign cancelled before sending"


async def test_cancelled_after_the_mass_send_went_removes_the_tag_after_its_outcome(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, store: Redis
) -> None:
    cid, headers = await to_the_mass_send(client)
    await settle(client)  # tagged and sent: waiting for WeChat's outcome
    assert fake_wechat.count(SENDALL) == 1 and len(fake_wechat.tags) == 1
    await press(client, cid, "cancel", headers)  # too late for the mass message: it went
    msg_id = await get_msg_id(fake_wechat)
    chat = Chat(client, clock, store)
    when = int(clock.now().timestamp())
    assert await chat.post(mass_finished_xml(msg_id, when, MEMBERS, MEMBERS)) == "success"
    await a_day_of_ticks(client, clock)

    assert fake_wechat.count(SENDALL) == 1
    assert fake_wechat.tags == {} and fake_wechat.count("tags/delete") == 1
    send = await MassSend.get()
    assert send.status is MassStatus.FINISHED and send.untagged_at is not None
    assert (await CampaignRun.get(campaign_id=cid)).status is RunStatus.CANCELLED
    # Those who got it are counted as sent by the mass send, not as cancelled.
    found = await read(client, cid, headers)
    assert found["progress"]["sent_by_channel"] == {"mass": MEMBERS}


async def test_a_busy_answer_to_the_tags_delete_is_asked_again(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    cid, headers = await to_the_mass_send(client)
    await tagging(client, fake_wechat)
    # System busy to the first call and the API client's three retries: the tag is still there.
    fake_wechat.script("tags/delete", [-1] * 4)
    await press(client, cid, "cancel", headers)
    await a_day_of_ticks(client, clock)
    assert fake_wechat.tags == {} and fake_wechat.count("tags/delete") == 5
    assert fake_wechat.count(SENDALL) == 0


async def test_paused_while_tagging_sends_only_after_the_resume(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    cid, headers = await to_the_mass_send(client)
    await tagging(client, fake_wechat)
    await press(client, cid, "pause", headers)
    await a_day_of_ticks(client, clock)
    assert fake_wechat.count(SENDALL) == 0  # the round of calls in hand ended; nothing sent
    await press(client, cid, "resume", headers)
    await settle(client)
    assert fake_wechat.count(SENDALL) == 1
    found = await read(client, cid, headers)
    assert found["progress"]["sent_by_channel"] == {"mass": MEMBERS}
