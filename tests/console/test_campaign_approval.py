"""A campaign above the programme's approval threshold over the console: the marketer is told
an admin must approve it and cannot send it; the admin approves; then send, pause, resume and
cancel, each through the campaigns API (audited via: console)."""

from __future__ import annotations

from pathlib import Path

import pytest

from club.clock import FixedClock
from club.db.models.campaigns import Campaign
from club.db.models.staff import AuditLog
from club.segments.rules import parse
from config import Settings
from tests.club.campaign_support import everyone_segment, member, programme_file
from tests.conftest import make_settings
from tests.console.support import Client, page_token, sign_in, staff_with_password


@pytest.fixture(name="settings")
def settings_with_a_low_threshold(tmp_path: Path) -> Settings:
    return make_settings(club_config=programme_file(tmp_path, approval_threshold=1))


async def _post(client: Client, path: str, token: str) -> int:
    resp = await client.post(path, data={"csrf_token": token}, allow_redirects=False)
    return resp.status


async def test_approval_then_send_pause_resume_cancel(
    console_client: Client, clock: FixedClock
) -> None:
    now = clock.now()
    for i in range(2):
        await member(f"o-{i}", now)
    segment = await everyone_segment(now)
    assert parse(segment.rule)
    await staff_with_password("mia", "marketer")
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "mia")
    token = await page_token(console_client, "/console/campaigns/new")
    form = {"csrf_token": token, "name": "大活动", "segment_id": str(segment.id), "text": "你好"}
    resp = await console_client.post("/console/campaigns", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    cid = (await Campaign.get()).id
    page = await (await console_client.get(f"/console/campaigns/{cid}")).text()
    assert 'id="needs-approval"' in page and "审批通过" not in page and "立即发送" not in page
    refused = await console_client.post(
        f"/console/campaigns/{cid}/send", data={"csrf_token": token}
    )
    assert refused.status == 409 and "approve" in await refused.text()
    assert await _post(console_client, f"/console/campaigns/{cid}/approve", token) == 403

    await console_client.post("/console/logout", data={"csrf_token": token})
    await sign_in(console_client, "ada")
    token = await page_token(console_client, f"/console/campaigns/{cid}")
    assert await _post(console_client, f"/console/campaigns/{cid}/approve", token) == 303
    page = await (await console_client.get(f"/console/campaigns/{cid}")).text()
    assert "立即发送" in page
    for action, status in (
        ("send", "scheduled"),
        ("pause", "paused"),
        ("resume", "scheduled"),
        ("cancel", "cancelled"),
    ):
        assert await _post(console_client, f"/console/campaigns/{cid}/{action}", token) == 303
        assert (await Campaign.get(id=cid)).status == status, action
    rows = await AuditLog.filter(action__startswith="campaign.").order_by("id")
    assert [(r.action, r.status) for r in rows] == [
        ("campaign.create", 201),
        ("campaign.send", 409),
        ("campaign.approve", 403),
        ("campaign.approve", 200),
        ("campaign.send", 200),
        ("campaign.pause", 200),
        ("campaign.resume", 200),
        ("campaign.cancel", 200),
    ]
    assert {r.summary["via"] for r in rows} == {"console"}
