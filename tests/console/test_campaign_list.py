"""The console's campaign list: each campaign's progress and each automation's last runs, read
by one call of the list's endpoint: the queries do not grow with the number of campaigns."""

from __future__ import annotations

import re

import pytest

import console.web.campaigns
from club.clock import FixedClock
from tests.club.campaign_support import (
    campaigns_in_every_state,
    deps_of,
    everyone_segment,
    member,
)
from tests.console.support import Client, sign_in, staff_with_password
from tests.queries import statements


async def page(client: Client) -> tuple[str, int]:
    """The list page, and how many statements answering it took."""
    with statements() as seen:
        resp = await client.get("/console/campaigns")
        assert resp.status == 200, await resp.text()
        html = await resp.text()
    return html, len(seen)


def row(html: str, campaign_id: int) -> str:
    found = re.search(rf'<tr id="campaign-{campaign_id}">(.*?)</tr>', html, re.S)
    assert found, campaign_id
    return found.group(1)


async def test_the_list_shows_progress_and_runs_in_a_constant_number_of_queries(
    console_client: Client, clock: FixedClock
) -> None:
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    deps = deps_of(console_client)
    for i in range(4):
        await member(f"o-list-{i}", clock.now(), window=True)
    segment = await everyone_segment(clock.now())
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
