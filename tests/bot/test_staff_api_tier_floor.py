"""Staff set a member's tier floor through the staff API: lifted at once, kept by the review."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import permutations
from typing import Any

from bot.deps import DEPS
from club.clock import FixedClock
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.programme import load_programme
from club.tiers.service import review_tier
from tests.bot.test_staff_api_support import (
    NOW,
    Client,
    audit_rows,
    error_of,
    joined_member,
    staff_headers,
)
from tests.conftest import TEST_REDIS_URL

PROGRAMME = load_programme(None)
LATER = NOW + timedelta(days=31)


def _url(member_id: int) -> str:
    return f"/api/v1/members/{member_id}/tier-floor"


async def _tiers(member_id: int) -> tuple[str | None, str | None]:
    member = await Member.get(id=member_id)
    return member.tier, member.tier_floor


async def _as_read(client: Client, member_id: int, headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/members/{member_id}", headers=headers)
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def test_floor_lifts_the_member_at_once_and_is_audited_with_the_reason(
    client: Client,
) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    resp = await client.put(
        _url(member.id),
        json={"tier": "gold", "reason": "key account of store 12"},
        headers=headers["marketer"],
    )
    assert resp.status == 200
    body = await resp.json()
    assert (body["id"], body["tier"], body["tier_floor"]) == (member.id, "gold", "gold")
    # The answer is the member exactly as a read by the same role shows it (phone masked).
    assert body == await _as_read(client, member.id, headers["marketer"])
    assert await _tiers(member.id) == ("gold", "gold")
    stored = await Member.get(id=member.id)
    assert stored.tier_since == NOW
    [row] = await audit_rows("tier.floor")
    assert (row.staff_name, row.status, row.target) == ("marketer-1", 200, f"member:{member.id}")
    assert row.summary["reason"] == "key account of store 12"
    assert row.summary["tier"] == "gold"
    assert (row.summary["floor_before"], row.summary["tier_before"]) == (None, "taste")
    assert (row.summary["floor_after"], row.summary["tier_after"]) == ("gold", "gold")
    assert (row.summary["lifted_to"], row.summary["changed"]) == ("gold", True)


async def test_the_review_never_goes_below_the_floor(client: Client) -> None:
    member = await joined_member(tier="black")
    headers = await staff_headers()
    resp = await client.put(
        _url(member.id),
        json={"tier": "silver", "reason": "banquet client"},
        headers=headers["admin"],
    )
    assert resp.status == 200
    # Above the floor already: not moved, only the floor is set.
    assert await _tiers(member.id) == ("black", "silver")
    [row] = await audit_rows("tier.floor")
    assert row.summary["lifted_to"] is None and row.summary["changed"] is True
    # No spend: the review steps down one tier a time, and stops at the floor.
    first = await review_tier(member.id, LATER, PROGRAMME)
    assert first is not None and first.to_tier == "gold"
    second = await review_tier(member.id, LATER + timedelta(days=31), PROGRAMME)
    assert second is not None and second.to_tier == "silver"
    assert await review_tier(member.id, LATER + timedelta(days=62), PROGRAMME) is None
    assert await _tiers(member.id) == ("silver", "silver")


async def test_null_clears_the_floor_and_the_tier_stays_until_the_review(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    url = _url(member.id)
    await client.put(url, json={"tier": "gold", "reason": "vip"}, headers=headers["admin"])
    assert await review_tier(member.id, LATER, PROGRAMME) is None
    resp = await client.put(
        url, json={"tier": None, "reason": "no longer vip"}, headers=headers["admin"]
    )
    assert resp.status == 200
    body = await resp.json()
    assert (body["tier"], body["tier_floor"]) == ("gold", None)
    assert await _tiers(member.id) == ("gold", None)
    cleared = (await audit_rows("tier.floor"))[-1]
    assert cleared.summary["tier"] is None and cleared.summary["floor_before"] == "gold"
    assert cleared.summary["floor_after"] is None and cleared.summary["changed"] is True
    assert cleared.summary["tier_before"] == cleared.summary["tier_after"] == "gold"
    assert cleared.summary["reason"] == "no longer vip"
    # Without the floor the next review takes one step down.
    change = await review_tier(member.id, LATER + timedelta(days=31), PROGRAMME)
    assert change is not None and change.to_tier == "silver"


async def test_setting_the_same_floor_again_changes_nothing_and_answers_the_same(
    client: Client,
) -> None:
    member = await joined_member(tier="silver")
    headers = await staff_headers()
    url = _url(member.id)
    body = {"tier": "gold", "reason": "key account"}
    first = await client.put(url, json=body, headers=headers["admin"])
    since = (await Member.get(id=member.id)).tier_since
    second = await client.put(url, json=body, headers=headers["admin"])
    assert first.status == second.status == 200
    assert await first.json() == await second.json()
    stored = await Member.get(id=member.id)
    assert (stored.tier, stored.tier_floor, stored.tier_since) == ("gold", "gold", since)
    rows = await audit_rows("tier.floor")
    assert [r.summary["changed"] for r in rows] == [True, False]
    assert rows[1].summary["lifted_to"] is None
    before_after = ("floor_before", "floor_after", "tier_before", "tier_after")
    assert [tuple(r.summary[k] for k in before_after) for r in rows] == [
        (None, "gold", "silver", "gold"),
        ("gold", "gold", "gold", "gold"),
    ]


async def _tier_messages(member_id: int) -> list[OutboxMessage]:
    return await OutboxMessage.filter(member_id=member_id, kind="tier_change").order_by("id")


async def test_a_lift_queues_the_tier_up_message_of_the_review_once(client: Client) -> None:
    member = await joined_member(tier="taste", last_message_at=NOW - timedelta(hours=1))
    headers = await staff_headers()
    url = _url(member.id)
    body = {"tier": "gold", "reason": "key account"}
    for role in ("marketer", "admin"):
        assert (await client.put(url, json=body, headers=headers[role])).status == 200
    # A repeat lifts nothing and queues nothing: one message, the review's tier-up text.
    await client.app[DEPS].drain()  # handed to the in-process sender when the lift committed
    [message] = await _tier_messages(member.id)
    text = PROGRAMME.messages.tier_upgrade.render("zh", tier="金卡")
    assert message.payload["msgtype"] == "text" and message.payload["text"] == text
    # Should the window close before it goes, the tier template goes instead.
    assert message.payload["fallback"]["data"]["thing1"] == "金卡"
    # With a queue (REDIS_URL) it waits for the queue workers; embedded, it went at once.
    expected = ("queued", False) if TEST_REDIS_URL else ("sent", True)
    assert (message.openid, message.not_before) == ("o-alice", None)
    assert (message.status, message.dry_run) == expected
    assert await OutboxMessage.all().count() == 1
    # A lower floor, or a clear, lifts nobody and queues nothing either.
    for floor in ("silver", None):
        resp = await client.put(url, json={"tier": floor, "reason": "r"}, headers=headers["admin"])
        assert resp.status == 200
    assert len(await _tier_messages(member.id)) == 1


async def test_each_lift_is_announced_in_the_member_s_language(client: Client) -> None:
    member = await joined_member(
        tier="black", language="en", last_message_at=NOW - timedelta(hours=1)
    )
    headers = await staff_headers()
    url = _url(member.id)
    # Already above the floor: not lifted, not congratulated.
    await client.put(url, json={"tier": "silver", "reason": "r"}, headers=headers["admin"])
    assert await _tier_messages(member.id) == []
    # The review takes the member down to the floor; a higher floor later is a new lift.
    assert await review_tier(member.id, LATER, PROGRAMME) is not None
    assert await review_tier(member.id, LATER + timedelta(days=31), PROGRAMME) is not None
    assert await _tiers(member.id) == ("silver", "silver")
    resp = await client.put(url, json={"tier": "black", "reason": "r"}, headers=headers["admin"])
    assert (await resp.json())["tier"] == "black"
    [message] = await _tier_messages(member.id)
    assert message.payload["text"] == "Congratulations: you are now a Black Gold member."


async def test_a_lift_whose_message_cannot_be_queued_is_not_kept_and_the_retry_does_both(
    client: Client, monkeypatch: Any
) -> None:
    """The floor, the lift and its message commit together: otherwise a failure between them
    would keep the lift, and the retry, lifting nobody, would never tell the member."""
    import club.messaging.outbox as writer

    member = await joined_member(tier="taste", last_interaction_at=NOW - timedelta(hours=1))
    headers = await staff_headers()
    body = {"tier": "gold", "reason": "key account"}
    real = writer.insert_rows

    async def fails(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(writer, "insert_rows", fails)
    resp = await client.put(_url(member.id), json=body, headers=headers["admin"])
    assert resp.status == 500
    assert await _tiers(member.id) == ("taste", None)  # neither lifted nor floored
    monkeypatch.setattr(writer, "insert_rows", real)
    resp = await client.put(_url(member.id), json=body, headers=headers["admin"])
    assert resp.status == 200
    assert await _tiers(member.id) == ("gold", "gold")
    assert len(await _tier_messages(member.id)) == 1


async def test_a_lift_in_quiet_hours_waits_for_morning_and_the_unfollowed_get_nothing(
    client: Client, clock: FixedClock
) -> None:
    headers = await staff_headers()
    body = {"tier": "gold", "reason": "r"}
    clock.set(NOW.replace(hour=22, minute=30))
    late = await joined_member(tier="taste", last_interaction_at=clock.now() - timedelta(hours=1))
    assert (await client.put(_url(late.id), json=body, headers=headers["admin"])).status == 200
    [message] = await _tier_messages(late.id)
    assert message.not_before == (NOW + timedelta(days=1)).replace(hour=9, minute=0)
    gone = await joined_member("o-gone", tier="taste", status=MemberStatus.UNFOLLOWED)
    assert (await client.put(_url(gone.id), json=body, headers=headers["admin"])).status == 200
    assert await _tiers(gone.id) == ("gold", "gold")
    [skipped] = await _tier_messages(gone.id)  # recorded, with the reason, never sent
    assert (skipped.status, skipped.last_error) == ("skipped", "skipped: member unfollowed")


async def test_two_staff_changing_one_floor_at_once_audit_one_history(
    pg_only: None, client: Client
) -> None:
    # The before values are read under the member's row lock, in the transaction that writes the
    # floor: of two changes at once, one sees the floor as it was and the other sees the first
    # one's result, never both the same old value. Several rounds, each from where the last ended.
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    url = _url(member.id)
    floors: list[str | None] = [None, "silver", "gold", "black"]
    seen = 0
    for turn in range(8):
        tier, floor = await _tiers(member.id)
        first, second = [f for f in floors[turn % 4 :] + floors[: turn % 4] if f != floor][:2]
        answers = await asyncio.gather(
            client.put(url, json={"tier": first, "reason": "one"}, headers=headers["admin"]),
            client.put(url, json={"tier": second, "reason": "two"}, headers=headers["marketer"]),
        )
        assert [a.status for a in answers] == [200, 200]
        rows = [r.summary for r in (await audit_rows("tier.floor"))[seen:]]
        seen += 2
        assert len(rows) == 2 and all(r["changed"] for r in rows)
        orders = [
            (a, b)
            for a, b in permutations(rows)
            if (a["floor_before"], a["tier_before"]) == (floor, tier)
            and (b["floor_before"], b["tier_before"]) == (a["floor_after"], a["tier_after"])
        ]
        assert len(orders) == 1, (floor, tier, rows)
        last = orders[0][1]
        assert await _tiers(member.id) == (last["tier_after"], last["floor_after"])


async def test_clerk_may_not_set_a_floor(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    resp = await client.put(
        _url(member.id), json={"tier": "black", "reason": "my friend"}, headers=headers["clerk"]
    )
    error = await error_of(resp, 403)
    assert "clerk" in error["message"] and "tier floor" in error["message"]
    assert await _tiers(member.id) == ("taste", None)
    [row] = await audit_rows("tier.floor")
    assert (row.staff_role, row.status, row.summary["refused"]) == ("clerk", 403, "forbidden")


async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(client: Client) -> None:
    member = await joined_member(tier="taste")
    headers = await staff_headers()
    url = _url(member.id)
    error = await error_of(
        await client.put(url, json={"tier": "platinum", "reason": "x"}, headers=headers["admin"]),
        422,
    )
    assert error["fields"] == ["tier"]
    assert "taste, silver, gold, black" in error["message"] and "platinum" in error["message"]
    cases: list[tuple[object, list[str] | None]] = [
        ({"tier": "gold"}, ["reason"]),
        ({"reason": "forgot the tier"}, ["tier"]),
        ({"tier": "gold", "reason": ""}, ["reason"]),
        ({"tier": "gold", "reason": "   "}, ["reason"]),
        ({"tier": "gold", "reason": "x" * 201}, ["reason"]),
        ({"tier": 3, "reason": "number"}, ["tier"]),
        ({"tier": "gold", "reason": "ok", "until": "2027-01-01"}, ["until"]),
        (["gold"], None),
    ]
    for body, fields in cases:
        error = await error_of(await client.put(url, json=body, headers=headers["admin"]), 422)
        if fields is not None:
            assert error["fields"] == fields, body
    await error_of(await client.put(url, data="{not json", headers=headers["admin"]), 400)
    await error_of(await client.put(url, headers=headers["admin"]), 400)
    assert await _tiers(member.id) == ("taste", None)
    rows = await audit_rows("tier.floor")
    assert len(rows) == 11 and all(r.status in (400, 422) for r in rows)


async def test_unknown_deleted_and_not_joined_members(client: Client) -> None:
    headers = await staff_headers()
    body = {"tier": "gold", "reason": "vip"}
    await error_of(await client.put(_url(404), json=body, headers=headers["admin"]), 404)
    gone = await joined_member("o-gone", status=MemberStatus.DELETED)
    await error_of(await client.put(_url(gone.id), json=body, headers=headers["admin"]), 404)
    follower = await joined_member("o-follower", joined_at=None, consent_at=None, tier="taste")
    refused = await error_of(
        await client.put(_url(follower.id), json=body, headers=headers["admin"]), 409
    )
    adjusted = await error_of(
        await client.post(
            f"/api/v1/members/{follower.id}/adjustments",
            json={"points": 5, "reason": "vip"},
            headers=headers["admin"],
        ),
        409,
    )
    assert refused["code"] == adjusted["code"] == "not_joined"
    assert "tier floors are for members only" in refused["message"]
    assert "points are for members only" in adjusted["message"]
    assert await _tiers(follower.id) == ("taste", None)
    assert await _tiers(gone.id) == (None, None)


async def test_the_route_is_in_the_openapi_document(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    op = doc["paths"]["/api/v1/members/{id}/tier-floor"]["put"]
    assert op["x-required-permission"] == "set_tier_floor"
    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(op["responses"])
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["required"] == ["tier", "reason"]
    [text] = [o for o in body["properties"]["tier"]["anyOf"] if o.get("type") == "string"]
    assert text["enum"] == ["taste", "silver", "gold", "black"]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/MemberOut")
