"""The console's campaign list: each campaign's progress and each automation's last runs, read
by one call of the list's endpoint: the queries do not grow with the number of campaigns."""

from __future__ import annotations

import re

import pytest

import console.web.campaigns
from bot.deps import Deps
from club.clock import FixedClock
from club.db.models.segments import Segment as SegmentRow
from tests.club.campaign_support import (
    campaigns_in_every_state,
    deps_of,
    everyone_segment,
    member,
)
from tests.console.support import Client, sign_in, staff_with_password
from tests.queries import statements


async def page(client: Client, path: str = "/console/campaigns") -> tuple[str, int]:
    """A console page (the campaign list), and how many statements answering it took."""
    with statements() as seen:
        resp = await client.get(path)
        assert resp.status == 200, await resp.text()
        html = await resp.text()
    return html, len(seen)


def row(html: str, campaign_id: int) -> str:
    found = re.search(rf'<tr id="campaign-{campaign_id}">(.*?)</tr>', html, re.S)
    assert found, campaign_id
    return found.group(1)


async def marketer_with_members(client: Client, clock: FixedClock) -> tuple[Deps, SegmentRow]:
    """A marketer signed in, four members in the window, and a segment of everyone."""
    await staff_with_password("mia", "marketer")
    await sign_in(client, "mia")
    for i in range(4):
        await member(f"o-list-{i}", clock.now(), window=True)
    return deps_of(client), await everyone_segment(clock.now())


async def test_the_list_shows_progress_and_runs_in_a_constant_number_of_queries(
    console_client: Client, clock: FixedClock
) -> None:
    deps, segment = await marketer_with_members(console_client, clock)
    first = await campaigns_in_every_state(deps, segment.id, "1")
    await page(console_client)  # the session's first touches are written once: not counted
    html, few = await page(console_client)
    assert "100%" in row(html, first["done"])
    assert "0%" in row(html, first["paused"]) and "<progress" in row(html, first["paused"])
    assert "100%" in row(html, first["cancelled"])  # nobody left waiting: all handled
    assert "<progress" not in row(html, first["draft"])
    automations = html.split('id="automations"')[1]
    assert "automation 1" in automations and "已完成" in automations

    for tag in ("2", "3"):
        await campaigns_in_every_state(deps, segment.id, tag)
    await page(console_client)  # finished runs' counts are stored at their first read
    html, many = await page(console_client)
    automations = html.split('id="automations"')[1]
    assert html.count('<tr id="campaign-') == 15
    assert all(f"automation {tag}" in automations for tag in ("1", "2", "3"))
    assert many == few


async def test_the_list_pages_older_campaigns(
    console_client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console.web.campaigns, "LIST_PAGE", 4)
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    segment = await everyone_segment(clock.now())
    made = await campaigns_in_every_state(deps_of(console_client), segment.id, "1")
    newest_first = sorted(made.values(), reverse=True)
    html, _ = await page(console_client)
    shown = [int(i) for i in re.findall(r'<tr id="campaign-(\d+)">', html)]
    assert set(shown) <= set(newest_first[:4]) and f"共 {len(made)} 个" in html
    assert "/console/campaigns?offset=4" in html and "较新的" not in html
    resp = await console_client.get("/console/campaigns?offset=4")
    older = await resp.text()
    assert resp.status == 200 and "较新的" in older
    shown = [int(i) for i in re.findall(r'<tr id="campaign-(\d+)">', older)]
    assert set(shown) <= set(newest_first[4:8]) and shown


def flying(html: str) -> list[str]:
    """The dashboard's campaigns in flight: each one's name and percent."""
    section = html.split('id="campaigns-in-flight"')[1].split("</ul>")[0]
    return [
        f"{name} {percent}%"
        for name, percent in re.findall(r">([^<>]+)</a> ·.*?</progress> (\d+)%", section, re.S)
    ]


async def test_the_dashboard_reads_campaigns_in_flight_in_a_constant_number_of_queries(
    console_client: Client, clock: FixedClock
) -> None:
    """The dashboard shows the newest campaigns in flight (scheduled, sending, paused) with
    their progress, read together, not a campaign page (effect, runs, history) each."""
    deps, segment = await marketer_with_members(console_client, clock)
    await campaigns_in_every_state(deps, segment.id, "1")
    await page(console_client, "/console")  # the session's first touches are written once
    html, few = await page(console_client, "/console")
    # newest first; the automation runs daily, so it stays in flight
    assert flying(html) == ["paused 1 0%", "automation 1 100%", "scheduled 1 0%"]
    await campaigns_in_every_state(deps, segment.id, "2")
    await page(console_client, "/console")  # a finished run's counts are stored once
    html, many = await page(console_client, "/console")
    assert flying(html) == [  # at most five
        "paused 2 0%",
        "automation 2 100%",
        "scheduled 2 0%",
        "paused 1 0%",
        "automation 1 100%",
    ]
    assert many == few
