"""Paced batches that take longer than the sending lease, against the fake WeChat server.

Rows left `sending` for over a minute are settled by the outbox sweep as `outcome_unknown` (a
dead sender's message: never sent again). Workers share a campaign's pace: each reserves the
slots of its batch of 50 after the others', so at a slow pace a live worker is still sending
its batch well over a minute after it started (two workers at one message a second: the
second batch's last slot is 99 s out). Its rows waiting for their slot, or sent and not yet
recorded, must not look like a dead sender's.

The test runs in compressed time: its clock runs `SCALE` times faster than the real one and
its pacer hands out slots on that clock, so a minute of the campaign passes in about a
second; the scheduler's sweep runs every few seconds of that clock, as it would."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from club.campaigns import tick
from club.campaigns.context import CampaignContext
from club.campaigns.fanout import run_chunk
from club.clock import FixedClock
from club.db.models.campaigns import CampaignRun
from club.db.models.outbox import OutboxMessage
from club.messaging import batch_delivery
from club.messaging.delivery import Delivery, settle_abandoned
from club.rules.campaigns import RunStatus
from config import Settings
from tests.bot.test_staff_api_campaign_pause import CUSTOM, read
from tests.bot.test_staff_api_campaigns import campaign_body
from tests.bot.test_staff_api_support import Client, staff_headers
from tests.club.campaign_support import deps_of, everyone_segment, member
from tests.conftest import make_settings
from tests.fakes import FakeWeChat

SCALE = 25.0
"""Seconds of the test's clock per real second."""
WORKERS = 2
MEMBERS = 100
"""Two batches of 50: one per worker."""
PACE = 1
"""Messages a second, shared by the workers: the second batch goes from 50 s to 99 s."""
SWEEP_EVERY = timedelta(seconds=5)
BEHIND = 0.4
"""Real seconds WeChat takes to answer a send when the workers are behind their pace: the
slots come every 0.04 s, eight sends at a time answer 20 a second."""


class FastClock:
    """The club's time, running `SCALE` times faster than the real one from `start`."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.t0) * SCALE)


class FastPacer:
    """The shared pace (one schedule for every worker, as `bot.pacing` keeps it in Redis) on
    the fast clock: slots `1 / per_second` apart in its time, returned in real seconds."""

    def __init__(self) -> None:
        self.next_at: dict[str, float] = defaultdict(float)
        self.takers: list[asyncio.Task[object] | None] = []
        """The task that reserved each batch's slots, in order."""

    async def wait(self, key: str, per_second: float) -> None:
        [delay] = await self.slots(key, per_second, 1)
        await asyncio.sleep(delay)

    async def slots(self, key: str, per_second: float, count: int) -> list[float]:
        self.takers.append(asyncio.current_task())
        now = time.monotonic()
        first = max(self.next_at[key], now)
        interval = 1 / (per_second * SCALE)
        self.next_at[key] = first + count * interval
        return [first - now + i * interval for i in range(count)]


@pytest.fixture(autouse=True)
def claims_ahead_on_the_fast_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row is claimed `CLAIM_AHEAD` seconds of the pace before its slot: on the fast clock
    that is as many of its seconds, `SCALE` times fewer real ones."""
    monkeypatch.setattr(batch_delivery, "CLAIM_AHEAD", batch_delivery.CLAIM_AHEAD / SCALE)


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat, tmp_path: Path) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


def fast_context(client: Client, clock: FixedClock) -> CampaignContext:
    """The app's campaign services on the fast clock and pacer; the test plays the queue."""
    deps = deps_of(client)
    fast = FastClock(clock.now())
    delivery = Delivery(deps.delivery.sender, deps.delivery.rules, fast)
    return dataclasses.replace(
        deps.campaigns, clock=fast, delivery=delivery, pacer=FastPacer(), feed=None
    )


def pacer_of(ctx: CampaignContext) -> FastPacer:
    assert isinstance(ctx.pacer, FastPacer)
    return ctx.pacer


async def sweeping(ctx: CampaignContext, until: Callable[[], bool]) -> None:
    """The scheduler's outbox sweep every few seconds (of the fast clock) until `until()`."""
    while not until():
        await settle_abandoned(ctx.clock.now())
        await asyncio.sleep(SWEEP_EVERY.total_seconds() / SCALE)


async def paced_campaign(
    client: Client, clock: FixedClock
) -> tuple[CampaignContext, CampaignRun, dict[str, Any]]:
    """A campaign at `PACE` to `MEMBERS` members in their window, started on the fast clock,
    its one chunk handed to `WORKERS` workers (they share it); the run and the workers."""
    headers = (await staff_headers())["marketer"]
    now = clock.now()
    for i in range(MEMBERS):
        await member(f"o-pace-{i:03d}", now, window=True)
    segment = await everyone_segment(now)
    body = campaign_body(segment.id, pace=PACE)
    resp = await client.post("/api/v1/campaigns", json=body, headers=headers)
    cid = int((await resp.json())["id"])
    await client.post(f"/api/v1/campaigns/{cid}/send", json={}, headers=headers)
    ctx = fast_context(client, clock)
    assert (await tick.tick(ctx, ctx.clock.now()))["started"] == 1
    run = await CampaignRun.get(campaign_id=cid)
    assert run.chunks == 1
    return ctx, run, headers


def workers_on(ctx: CampaignContext, run: CampaignRun) -> list[asyncio.Task[object]]:
    return [asyncio.create_task(run_chunk(ctx, run.id, 0)) for _ in range(WORKERS)]


async def finished(ctx: CampaignContext, run: CampaignRun) -> None:
    for _ in range(3):
        await tick.tick(ctx, ctx.clock.now())
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.DONE


async def test_batches_paced_past_the_lease_send_each_once_and_record_it_sent(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    ctx, run, headers = await paced_campaign(client, clock)
    started = ctx.clock.now()
    workers = workers_on(ctx, run)
    await sweeping(ctx, until=lambda: all(w.done() for w in workers))
    for worker in workers:
        worker.result()
    assert ctx.clock.now() - started > timedelta(seconds=90), "paced past the lease"
    await finished(ctx, run)

    sent_to = [c.body["touser"] for c in fake_wechat.calls(CUSTOM)]
    assert len(sent_to) == len(set(sent_to)) == MEMBERS  # each member exactly once
    rows = await OutboxMessage.filter(kind="campaign").values_list("status", "outcome")
    assert len(rows) == MEMBERS
    # Every message that went is recorded as sent: none reported unknown although delivered.
    assert set(rows) == {("sent", "sent")}
    found = await read(client, run.campaign_id, headers)
    assert found["status"] == "done"
    assert found["progress"]["sent"] == MEMBERS


@pytest.mark.parametrize("answer_s", [0.0, BEHIND], ids=["keeping-its-pace", "behind-its-pace"])
async def test_a_worker_dying_mid_batch_leaves_what_it_had_not_claimed_to_another(
    client: Client, fake_wechat: FakeWeChat, clock: FixedClock, answer_s: float
) -> None:
    """The worker pacing the second batch dies ten messages into it. Only the rows of its
    group in hand (claimed a moment before their slots) are a dead sender's, settled as unknown
    and never sent again; the rest are still queued, and a live worker sends them once.

    Behind its pace (WeChat answering slower than the slots come, or a loaded machine), a
    worker claimed each group at its slot all the same and held every group whose slot had
    passed: killed, all of them were settled as unknown (eight and more here, at 0.4 s an
    answer). It takes a group once the one before is recorded: it holds one group at most."""
    fake_wechat.slow(CUSTOM, answer_s)
    ctx, run, _ = await paced_campaign(client, clock)
    workers = workers_on(ctx, run)
    await sweeping(ctx, until=lambda: fake_wechat.count(CUSTOM) >= MEMBERS // 2 + 10)
    late = pacer_of(ctx).takers[1]  # the worker whose batch has the later slots
    assert late is not None and not late.done()
    late.cancel()  # killed: nothing of it runs any more
    died = ctx.clock.now()
    await sweeping(ctx, until=lambda: all(w.done() for w in workers))
    # The lease passes (swept), and the chunk is handed on again to a live worker.
    await sweeping(ctx, until=lambda: ctx.clock.now() > died + timedelta(seconds=70))
    await run_chunk(ctx, run.id, 0)
    await finished(ctx, run)

    sent_to = [c.body["touser"] for c in fake_wechat.calls(CUSTOM)]
    assert len(sent_to) == len(set(sent_to))  # nobody twice
    rows = await OutboxMessage.filter(kind="campaign").values_list("openid", "status", "outcome")
    unknown = {openid for openid, _, outcome in rows if outcome == "outcome_unknown"}
    # Settled as unknown: at most the dead worker's group in hand (the slots of two seconds);
    # everyone else's message went once and is recorded sent.
    assert len(unknown) <= PACE * 2 + 1
    assert {openid for openid, status, _ in rows if status == "sent"} == set(sent_to) - unknown
    assert set(sent_to) | unknown == {openid for openid, _, _ in rows}
