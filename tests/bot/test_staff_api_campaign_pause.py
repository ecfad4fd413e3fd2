"""Pause and cancel take effect within the batch in hand, against the fake WeChat server: staff
press pause while a batch of 50 is being sent, and what was written but not sent waits, sent
by nothing else, to go exactly once after resume; or, cancelled, is withdrawn and counted."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from club.campaigns import tick
from club.campaigns.watch import SEND_CONCURRENCY
from club.clock import FixedClock
from club.db.models.outbox import OutboxMessage
from config import Settings
from tests.bot.test_staff_api_campaigns import campaign_body
from tests.bot.test_staff_api_support import Client, staff_headers
from tests.club.campaign_support import deps_of, everyone_segment, member, settle, work_in_process
from tests.conftest import make_settings
from tests.fakes import FakeWeChat

CUSTOM = "message/custom/send"
CANCELLED = "campaign cancelled"
SLOW = 0.5
"""Seconds the fake takes to answer a customer-service send: pause is pressed while the first
sends are in flight."""


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat, tmp_path: Path) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


async def sending(client: Client, fake: FakeWeChat, members: int) -> tuple[int, dict[str, Any]]:
    """A campaign to `members` members (all in their window) whose first sends are in flight:
    the scheduler started it and a worker is sending its first batch."""
    headers = (await staff_headers())["marketer"]
    deps = deps_of(client)
    now = deps.clock.now()
    for i in range(members):
        await member(f"o-pause-{i:02d}", now, window=True)
    segment = await everyone_segment(now)
    resp = await client.post("/api/v1/campaigns", json=campaign_body(segment.id), headers=headers)
    cid = int((await resp.json())["id"])
    await client.post(f"/api/v1/campaigns/{cid}/send", json={}, headers=headers)
    fake.slow(CUSTOM, SLOW)
    work_in_process(deps)
    assert (await tick.tick(deps.campaigns, now))["started"] == 1
    for _ in range(200):
        if fake.count(CUSTOM) >= 3:
            return cid, headers
        await asyncio.sleep(0.01)
    raise AssertionError("the campaign never started sending")


async def press(client: Client, cid: int, action: str, headers: dict[str, Any]) -> None:
    """Staff press `action` (pause, resume, cancel); whatever was sending stops meanwhile."""
    resp = await client.post(
        f"/api/v1/campaigns/{cid}/{action}", json={"reason": "wrong picture"}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    await work_in_process(deps_of(client)).drain()


async def read(client: Client, cid: int, headers: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = await (
        await client.get(f"/api/v1/campaigns/{cid}", headers=headers)
    ).json()
    return found


async def quiet_ten_minutes(client: Client, clock: FixedClock) -> None:
    """Ten minutes of the scheduler's ticks, the workers and the outbox sweep."""
    for _ in range(3):
        clock.advance(timedelta(minutes=4))
        await settle(client, rounds=1)


async def test_pause_stops_within_the_batch_and_resume_sends_the_rest_once(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    cid, headers = await sending(client, fake_wechat, 50)
    await press(client, cid, "pause", headers)
    # Only the sends already in flight when pause was pressed went: not the rest of the 50.
    assert fake_wechat.count(CUSTOM) == SEND_CONCURRENCY
    await quiet_ten_minutes(client, clock)  # nothing else sends them while paused
    assert fake_wechat.count(CUSTOM) == SEND_CONCURRENCY
    paused = await read(client, cid, headers)
    assert paused["status"] == "paused"
    assert paused["progress"]["sent"] == SEND_CONCURRENCY
    assert paused["progress"]["queued"] == 50 - SEND_CONCURRENCY

    fake_wechat.slow(CUSTOM, 0)
    await press(client, cid, "resume", headers)
    await quiet_ten_minutes(client, clock)
    sent_to = [c.body["touser"] for c in fake_wechat.calls(CUSTOM)]
    assert len(sent_to) == len(set(sent_to)) == 50
    done = await read(client, cid, headers)
    assert done["status"] == "done"
    assert done["progress"]["sent"] == 50 and done["progress"]["queued"] == 0
    # Put back untried when paused: each row's one attempt is the send that went.
    attempts = await OutboxMessage.filter(kind="campaign").values_list("attempts", flat=True)
    assert set(attempts) == {1}


async def test_cancel_withdraws_what_the_batch_had_not_sent(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    cid, headers = await sending(client, fake_wechat, 60)
    await press(client, cid, "cancel", headers)
    await quiet_ten_minutes(client, clock)
    assert fake_wechat.count(CUSTOM) == SEND_CONCURRENCY
    found = await read(client, cid, headers)
    assert found["status"] == "cancelled"
    progress = found["progress"]
    # 8 sent; the batch's 42 other rows withdrawn and the 10 never planned, both as cancelled.
    assert progress["recipients"] == 60 and progress["sent"] == SEND_CONCURRENCY
    assert progress["skipped"] == {CANCELLED: 60 - SEND_CONCURRENCY}
    assert progress["queued"] == progress["pending"] == 0
    assert await OutboxMessage.filter(kind="campaign", status="queued").count() == 0
    assert found["effect"]["cost"]["messages"] == SEND_CONCURRENCY


async def test_a_paused_campaign_cancelled_withdraws_its_waiting_rows(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    cid, headers = await sending(client, fake_wechat, 50)
    await press(client, cid, "pause", headers)
    await press(client, cid, "cancel", headers)
    await quiet_ten_minutes(client, clock)
    assert fake_wechat.count(CUSTOM) == SEND_CONCURRENCY
    progress = (await read(client, cid, headers))["progress"]
    assert progress["sent"] == SEND_CONCURRENCY
    assert progress["skipped"] == {CANCELLED: 50 - SEND_CONCURRENCY}
    withdrawn = await OutboxMessage.filter(kind="campaign", status="skipped").count()
    assert withdrawn == 50 - SEND_CONCURRENCY
