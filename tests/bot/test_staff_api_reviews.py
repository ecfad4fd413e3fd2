"""Fraud review: a member flagged in chat, listed for admins with the evidence, then blocked (told
in chat to contact the club, earning and redeeming nothing, even after following again) or
cleared; every decision audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.kv import Redis
from club.clock import FixedClock
from club.codes.bottle import generate_batch
from club.db.models.members import Member, MemberStatus
from club.rewards.redemptions import create_reward
from handlers.texts import t
from tests.bot.test_staff_api_support import audit_rows, error_of, staff_headers
from tests.handlers.chat import Chat

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def chat(client: Client, clock: FixedClock, store: Redis) -> Chat:
    return Chat(client, clock, store)


async def flagged(chat: Chat) -> tuple[Member, list[str]]:
    """A member who used 10 codes in an hour and tried an 11th: flagged by the hourly limit."""
    made = await generate_batch(12, 1, "farm", chat.clock.now())
    await chat.join()
    for code in made.codes[:11]:
        await chat.say(code)
        chat.later(seconds=30)
    member = await Member.get(openid=chat.openid)
    assert member.flagged_for_review
    return member, list(made.codes)


async def test_admins_see_the_flagged_members_with_the_evidence(client: Client, chat: Chat) -> None:
    headers = await staff_headers()
    member, codes = await flagged(chat)
    resp = await client.get("/api/v1/reviews", headers=headers["admin"])
    [case] = (await resp.json())["members"]
    assert (case["member_id"], case["phone"], case["status"]) == (
        member.id,
        "138****5678",
        "active",
    )
    assert "10 in an hour" in case["reason"] and case["flagged_at"]
    assert case["codes_used_total"] == 10
    assert [c["code"] for c in case["codes_used"]] == list(reversed(codes[:10]))
    await error_of(await client.get("/api/v1/reviews", headers=headers["marketer"]), 403)
    one = await client.get(f"/api/v1/members/{member.id}/review", headers=headers["admin"])
    assert (await one.json())["codes_used_total"] == 10
    cleared = await client.post(
        f"/api/v1/members/{member.id}/review",
        json={"decision": "clear", "reason": "a bar owner opening a case"},
        headers=headers["admin"],
    )
    assert (await cleared.json())["changed"] is True
    assert (await (await client.get("/api/v1/reviews", headers=headers["admin"])).json()) == {
        "members": []
    }
    [row] = await audit_rows("member.review")
    assert (row.member_id, row.summary["decision"], row.summary["reason"]) == (
        member.id,
        "clear",
        "a bar owner opening a case",
    )


async def test_a_blocked_member_earns_and_redeems_nothing_until_unblocked(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    headers = await staff_headers()
    member, codes = await flagged(chat)
    await create_reward("醇香酒杯", 10, clock.now(), chat.programme)
    blocked = await client.post(
        f"/api/v1/members/{member.id}/review",
        json={"decision": "block", "reason": "codes bought in bulk"},
        headers=headers["admin"],
    )
    assert (await blocked.json())["status"] == "blocked"
    clock.advance(timedelta(days=1))
    told = t("member_blocked", "zh")
    assert await chat.say("签到") == told
    assert await chat.say("兑换") == told
    assert await chat.scan(codes[11]) == told
    order = {"member_id": member.id, "order_id": "B-1", "amount_fen": 10_000}
    refused = await client.post("/api/v1/purchases", json=order, headers=headers["clerk"])
    assert (await error_of(refused, 409))["code"] == "member_blocked"
    # Following again does not lift the block.
    await chat.post(
        "<xml><ToUserName><![CDATA[gh_clubbot0001]]></ToUserName>"
        f"<FromUserName><![CDATA[{chat.openid}]]></FromUserName>"
        f"<CreateTime>{int(clock.now().timestamp())}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>"
    )
    clock.advance(timedelta(minutes=1))
    await chat.follow()
    assert (await Member.get(id=member.id)).status == MemberStatus.BLOCKED
    assert await chat.say("签到") == told
    balance = (await Member.get(id=member.id)).points_balance

    unblocked = await client.post(
        f"/api/v1/members/{member.id}/review",
        json={"decision": "unblock", "reason": "explained by phone"},
        headers=headers["admin"],
    )
    assert (await unblocked.json())["status"] == "active"
    assert "签到成功" in await chat.say("签到")
    assert (await Member.get(id=member.id)).points_balance == balance + 2
    decisions = [
        (r.summary["decision"], r.summary["changed"]) for r in await audit_rows("member.review")
    ]
    assert decisions == [("block", True), ("unblock", True)]
