"""The campaign list shows each campaign's progress (and its last runs) as the campaign's own
page does, and reads them for all the listed campaigns at once: the number of queries does not
grow with the number of campaigns."""

from __future__ import annotations

from typing import Any

from tests.bot.test_staff_api_support import Client, staff_headers
from tests.club.campaign_support import (
    campaigns_in_every_state,
    deps_of,
    everyone_segment,
    member,
)
from tests.queries import statements


async def listing(client: Client, headers: dict[str, str]) -> tuple[dict[int, Any], int]:
    """The list by campaign id, and how many statements answering it took."""
    with statements() as seen:
        resp = await client.get("/api/v1/campaigns", headers=headers)
        assert resp.status == 200, await resp.text()
        listed = (await resp.json())["campaigns"]
    return {c["id"]: c for c in listed}, len(seen)


async def test_the_list_shows_each_campaigns_progress_in_a_constant_number_of_queries(
    client: Client,
) -> None:
    headers = (await staff_headers())["marketer"]
    deps = deps_of(client)
    now = deps.clock.now()
    for i in range(4):
        await member(f"o-list-{i}", now, window=True)
    segment = await everyone_segment(now)
    first = await campaigns_in_every_state(deps, segment.id, "1")
    # the token's last use is written once a minute, and finished runs' counts are stored at
    # their first read: neither counted
    await listing(client, headers)
    listed, few = await listing(client, headers)
    for cid in first.values():
        alone = await (await client.get(f"/api/v1/campaigns/{cid}", headers=headers)).json()
        assert listed[cid]["progress"] == alone["progress"], listed[cid]["name"]
        assert listed[cid]["runs"] == alone["runs"][-5:]
    shown = {state: listed[cid]["progress"] for state, cid in first.items()}
    assert shown["draft"]["recipients"] == shown["scheduled"]["recipients"] == 0
    done = shown["done"]
    assert done["recipients"] == 4 and done["held_out"] + done["sent"] == 4
    assert shown["automation"]["sent"] == 4
    assert shown["paused"]["pending"] == 4 and shown["paused"]["sent"] == 0
    assert shown["cancelled"]["skipped"] == {"campaign cancelled": 4}
    assert [r["status"] for r in listed[first["done"]]["runs"]] == ["done"]
    assert listed[first["draft"]]["runs"] == []

    for tag in ("2", "3"):
        await campaigns_in_every_state(deps, segment.id, tag)
    await listing(client, headers)  # finished runs' counts are stored at their first read
    listed, many = await listing(client, headers)
    assert len(listed) == 18
    # the list's six (campaigns, settled runs' counts, the others' recipients counted, the last
    # runs' ids and rows, their mass sends), its count, and the token's check
    assert many == few == 6 + 1 + 1


async def test_the_list_comes_a_page_at_a_time_newest_first(client: Client) -> None:
    headers = (await staff_headers())["marketer"]
    deps = deps_of(client)
    segment = await everyone_segment(deps.clock.now())
    made = await campaigns_in_every_state(deps, segment.id, "p")
    newest_first = sorted(made.values(), reverse=True)

    async def page(**query: str) -> Any:
        resp = await client.get("/api/v1/campaigns", params=query, headers=headers)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    first = await page(limit="2")
    assert [c["id"] for c in first["campaigns"]] == newest_first[:2]
    assert first["total"] == len(made)
    rest = await page(limit="2", offset="2")
    assert [c["id"] for c in rest["campaigns"]] == newest_first[2:4]
    assert (await page(offset=str(len(made))))["campaigns"] == []
    for bad in ({"limit": "0"}, {"limit": "201"}, {"offset": "-1"}, {"limit": "x"}):
        resp = await client.get("/api/v1/campaigns", params=bad, headers=headers)
        assert resp.status in (400, 422), bad
        assert "limit" in await resp.text() or "offset" in await resp.text()
