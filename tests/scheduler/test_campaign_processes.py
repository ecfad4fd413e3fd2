"""A campaign to 2,000 members over two real worker processes against the fake WeChat server (a
real HTTP server), one worker killed half-way and started again: every member not held out is
messaged exactly once, the held-out never, the progress counts add up, and each member messaged
has the campaign's bonus exactly once (credited after the send: the killed worker's sends too).

The test plays the scheduler (`tick.tick`, `settle_abandoned`) with shorter waits than
production's (a chunk silent for 5 s is handed on, a row left `sending` for 5 s is settled)
so that recovery takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.queue import CampaignFeeder, build_broker
from bot.wechat.sender import DryRunMassSender, DryRunSender
from club.campaigns import lifecycle, tick
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.campaigns.progress import progress
from club.clock import SystemClock
from club.db.models.campaigns import CampaignRecipient, CampaignRun
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.db.models.staff import StaffRole
from club.messaging.delivery import Delivery, settle_abandoned
from club.messaging.outbox import Outbox
from club.messaging.pacing import Unpaced
from club.messaging.plan import delivery_rules
from club.programme.source import load_programme
from club.rules.campaigns import RunStatus
from club.staff.accounts import StaffIdentity
from tests.club.campaign_support import everyone_segment, programme_file
from tests.conftest import APPID, TEST_REDIS_URL, TZ
from tests.fakes import FakeWeChat
from tests.scheduler.processes import ROOT, env

pytestmark = pytest.mark.slow

MEMBERS = 2000
BONUS = 5
SHORT = timedelta(seconds=5)


async def worker(api_base: str, config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scheduler",
        "worker",
        cwd=ROOT,
        env=env(CLUB_CONFIG=str(config), WECHAT_API_BASE=api_base, WECHAT_DRY_RUN="false"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return err.decode()


async def test_two_workers_one_killed_half_way_message_each_member_once(
    pg_only: None, redis_only: None, db: None, tmp_path: Path
) -> None:
    # No quiet hours: the test runs at whatever time of day it is.
    config = programme_file(tmp_path, quiet_start="00:00", quiet_end="00:00")
    clock = SystemClock(TZ)
    now = clock.now()
    await Member.bulk_create(
        [
            Member(openid=f"o-proc-{i:05d}", joined_at=now, consent_at=now, tier="taste")
            for i in range(MEMBERS)
        ]
    )
    segment = await everyone_segment(now)
    programme = load_programme(config)
    staff = StaffIdentity(1, "marketer-1", StaffRole.MARKETER)
    spec = lifecycle.Spec(
        "双十二", segment.id, msg.CampaignMessage("双十二会员日"), pace=150, holdout_bp=1000,
        bonus_points=BONUS, budget_points=BONUS * MEMBERS,
    )  # fmt: skip
    campaign = await lifecycle.create(spec, programme=programme, now=now, staff=staff)
    await lifecycle.schedule(campaign.id, send_at=None, programme=programme, now=now, staff=staff)

    async with FakeWeChat(appid=APPID) as fake:
        broker = build_broker(str(TEST_REDIS_URL))
        await broker.startup()
        ctx = CampaignContext(
            programme,
            clock,
            Outbox(programme),
            Delivery(DryRunSender(), delivery_rules(programme), clock),  # not used to send
            Unpaced(),
            DryRunMassSender(),  # not used: every member goes by template
            CampaignFeeder(broker),
        )
        procs = [await worker(fake.base_url, config) for _ in range(2)]
        try:
            await tick.tick(ctx, clock.now(), SHORT)
            run = await CampaignRun.get(campaign_id=campaign.id)
            to_message = run.recipients - run.held_out
            assert run.chunks == 4 and 150 < run.held_out < 250
            for _ in range(600):
                if len(fake.delivered("template")) >= to_message // 2:
                    break
                await asyncio.sleep(0.05)
            procs[0].send_signal(signal.SIGKILL)
            await procs[0].wait()
            half = len(fake.delivered("template"))
            assert half < to_message, "killed half-way"
            procs[0] = await worker(fake.base_url, config)
            for _ in range(240):
                await settle_abandoned(clock.now(), SHORT)
                await tick.tick(ctx, clock.now(), SHORT)
                if (await CampaignRun.get(id=run.id)).status is RunStatus.DONE:
                    break
                await asyncio.sleep(0.5)
        finally:
            logs = [await stop(p) for p in procs]
            await broker.shutdown()
        assert (await CampaignRun.get(id=run.id)).status is RunStatus.DONE, logs
        delivered = fake.delivered("template")

    recipients: list[Any] = await CampaignRecipient.filter(campaign_id=campaign.id).values_list(
        "openid", "holdout"
    )
    held = {openid for openid, holdout in recipients if holdout}
    messaged = {openid for openid, holdout in recipients if not holdout}
    assert len(delivered) == len(set(delivered)) == len(messaged)  # each exactly once
    assert set(delivered) == messaged and not held & set(delivered)
    found = await progress(campaign.id)
    assert found.adds_up() and found.recipients == MEMBERS
    assert found.sent == len(messaged) and found.held_out == len(held)
    done = await lifecycle.get(campaign.id)
    assert done.status.value == "done"
    bonuses: list[Any] = await LedgerEntry.filter(
        ref__startswith=f"campaign:{campaign.id}:"
    ).values_list("member__openid", "points")
    assert sorted(bonuses) == sorted((openid, BONUS) for openid in messaged)  # each once
    assert (done.points_awarded, done.points_reserved) == (BONUS * len(messaged), 0)
