"""Days and moments at the ends of Python's calendar (years 1 and 9999) are refused with 422.

Found by schemathesis (a reward, then a campaign, with such a time) and by hand: moved to UTC or
to the club's zone they fell off the calendar (OverflowError, in the database driver or in a
report's arithmetic): a 500 for every report, a store's level on a day, an audit filter, a segment
rule; and a reward stored with one on SQLite broke every later `GET /api/v1/rewards`. The staff
API now takes days and moments from 2000-01-01 to 2099-12-31, and nothing is written.
"""

from __future__ import annotations

from typing import Any

import pytest

from club.db.models.campaigns import Campaign
from club.db.models.catalog import Reward
from club.db.models.segments import Segment
from tests.bot.test_staff_api_support import Client, error_of, joined_member, staff_headers

EARLY = ("0001-01-01T00:00:00+08:00", "1999-12-31T23:59:59Z")
LATE = ("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "2100-01-01T00:00:00Z")
REPORTS = ("pareto", "rfm", "classes", "quadrants", "churn", "exits", "channels", "tiers")


async def admin(client: Client) -> dict[str, str]:
    await joined_member()
    headers = (await staff_headers())["admin"]
    resp = await client.post(
        "/api/v1/segments", json={"name": "all", "rule": {"rule": "joined"}}, headers=headers
    )
    assert resp.status == 201
    return headers


async def refused(resp: Any, field: str) -> None:
    error = await error_of(resp, 422)
    assert error["fields"] == [field], error


@pytest.mark.parametrize("moment", EARLY + LATE)
async def test_a_reward_or_campaign_time_off_the_calendar_is_refused(
    client: Client, moment: str
) -> None:
    headers = await admin(client)
    for field in ("active_from", "active_until"):
        reward = {"name": "glass", "points_cost": 5, field: moment}
        await refused(await client.post("/api/v1/rewards", json=reward, headers=headers), field)
    resp = await client.post(
        "/api/v1/rewards", json={"name": "glass", "points_cost": 5}, headers=headers
    )
    reward_id = (await resp.json())["id"]
    resp = await client.patch(
        f"/api/v1/rewards/{reward_id}", json={"active_until": moment}, headers=headers
    )
    await refused(resp, "active_until")
    campaign = {"name": "c", "segment_id": 1, "message": {"text": "hi"}, "send_at": moment}
    await refused(await client.post("/api/v1/campaigns", json=campaign, headers=headers), "send_at")
    resp = await client.get("/api/v1/rewards", headers=headers)
    assert resp.status == 200
    glasses = [r for r in (await resp.json())["rewards"] if r["name"] == "glass"]
    assert [r["active_until"] for r in glasses] == [None]
    assert await Reward.filter(name="glass").count() == 1
    assert await Campaign.all().count() == 0


@pytest.mark.parametrize("moment", EARLY + LATE)
async def test_an_audit_filter_time_off_the_calendar_is_refused(
    client: Client, moment: str
) -> None:
    headers = await admin(client)
    for key in ("since", "until"):
        resp = await client.get("/api/v1/audit", params={key: moment}, headers=headers)
        await refused(resp, key)


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z"]
)
async def test_a_segment_rule_time_that_cannot_be_used_is_refused(
    client: Client, moment: str
) -> None:
    # Stored rules are read again with the model that took them: only what can never be used
    # (moved to another zone it leaves the calendar) is refused, not all of `Moment`'s outside.
    headers = await admin(client)
    for key in ("after", "before"):
        rule = {"rule": "followed", key: moment}
        resp = await client.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers)
        await refused(resp, f"rule.followed.{key}")
        segment = {"name": "odd", "rule": rule}
        resp = await client.post("/api/v1/segments", json=segment, headers=headers)
        await refused(resp, f"rule.followed.{key}")
    assert await Segment.all().count() == 1


@pytest.mark.parametrize(
    "moment", ["0001-01-02T00:00:00Z", "1970-01-01T00:00:00+08:00", "9999-12-30T00:00:00Z"]
)
async def test_a_segment_rule_time_that_can_be_used_is_taken(client: Client, moment: str) -> None:
    headers = await admin(client)
    for key in ("after", "before"):
        rule = {"rule": "joined", key: moment}
        resp = await client.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers)
        assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01", "to": "0001-01-05"},
        {"to": "0001-01-01"},
        {"from": "9999-12-25", "to": "9999-12-31"},
        {"to": "9999-12-31"},
    ],
)
async def test_a_report_day_off_the_calendar_is_refused(
    client: Client, query: dict[str, str]
) -> None:
    headers = await admin(client)
    for report in REPORTS:
        resp = await client.get(f"/api/v1/reports/{report}", params=query, headers=headers)
        error = await error_of(resp, 422)
        assert set(error["fields"]) <= {"from", "to"}, (report, error)


async def test_a_store_level_on_a_day_off_the_calendar_is_refused(client: Client) -> None:
    headers = await admin(client)
    store = {"id": "S1", "name": "s", "channel_level": "small_shop"}
    assert (await client.post("/api/v1/stores", json=store, headers=headers)).status == 201
    for day in ("0001-01-01", "1999-12-31", "9999-12-31", "2100-01-01"):
        resp = await client.get("/api/v1/stores/S1", params={"on": day}, headers=headers)
        await refused(resp, "on")


async def test_the_first_and_last_day_of_the_calendar_are_taken(client: Client) -> None:
    headers = await admin(client)
    reward = {
        "name": "glass",
        "points_cost": 5,
        "active_from": "2000-01-01T00:00:00Z",
        "active_until": "2099-12-31T23:59:59Z",
    }
    assert (await client.post("/api/v1/rewards", json=reward, headers=headers)).status == 201
    assert (await client.get("/api/v1/rewards", headers=headers)).status == 200
    resp = await client.get(
        "/api/v1/reports/tiers", params={"from": "2099-12-01", "to": "2099-12-31"}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    params = {"since": "2000-01-01T00:00:00Z", "until": "2099-12-31T23:59:59Z"}
    assert (await client.get("/api/v1/audit", params=params, headers=headers)).status == 200
