"""Vouchers at the store through the staff API, after a member redeemed in chat; rewards edited,
disabled and restocked; vouchers expiring by the programme's rule; the demo catalogue."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.kv import Redis
from club.clock import FixedClock
from club.db.connect import database
from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.db.testing import clear_all_tables
from club.programme import load_programme
from club.rewards.catalogue import seed_rewards
from club.rewards.redemptions import create_reward
from club.rewards.voucher_expiry import expire_vouchers
from club.rules.programme import Vouchers
from clubbot.web import create_app
from config import Settings
from tests.bot.test_staff_api_support import MASKED, audit_rows, error_of, staff_headers
from tests.conftest import ON_POSTGRES, TEST_DB_URL
from tests.handlers.chat import Chat

Client = TestClient[web.Request, web.Application]
STORE = {"id": "SH-01", "name": "上海旗舰店", "channel_level": "key_account"}


@pytest.fixture
def chat(client: Client, clock: FixedClock, store: Redis) -> Chat:
    return Chat(client, clock, store)


async def redeemed(chat: Chat, *, stock: int | None = 5) -> tuple[str, Reward]:
    """A member joins (100 welcome points) and redeems a 60-point glass; the voucher code."""
    glass = await create_reward("醇香酒杯", 60, chat.clock.now(), chat.programme, stock=stock)
    await chat.join()
    await chat.say("兑换")
    await chat.say("1")
    done = await chat.say("确认")
    return done.split("券码：")[1].split("\n")[0], await Reward.get(id=glass.id)


async def test_a_voucher_is_used_once_and_a_second_use_says_when_and_where(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    headers = await staff_headers()
    await client.post("/api/v1/stores", json=STORE, headers=headers["admin"])
    code, _ = await redeemed(chat)
    found = await client.get(f"/api/v1/vouchers/{code}", headers=headers["clerk"])
    voucher = await found.json()
    assert found.status == 200, voucher
    assert (voucher["reward_name"], voucher["status"], voucher["member_phone"]) == (
        "醇香酒杯",
        "active",
        MASKED,
    )
    assert voucher["expires_at"].startswith("2026-12-23T10:00")  # 30 days (the demo's rule)
    # The code as typed from the screen: lower case, without dashes, is the same voucher.
    typed = code.replace("-", "").lower()
    clock.advance(timedelta(hours=2))
    used = await client.post(
        f"/api/v1/vouchers/{typed}/use", json={"store": "SH-01"}, headers=headers["clerk"]
    )
    body = await used.json()
    assert used.status == 200, body
    assert (body["status"], body["used_store_name"]) == ("used", "上海旗舰店")
    clock.advance(timedelta(days=1))
    again = await client.post(f"/api/v1/vouchers/{code}/use", json={}, headers=headers["clerk"])
    error = await error_of(again, 409)
    assert error["message"] == (
        f"voucher {code} was already used on 2026-11-23 12:00 at 上海旗舰店 (SH-01)"
    )
    assert (await Redemption.get()).status == RedemptionStatus.USED
    # Nor can a used voucher be cancelled for its points.
    cancel = await client.post(
        f"/api/v1/vouchers/{code}/cancel", json={"reason": "member asked"}, headers=headers["admin"]
    )
    assert (await error_of(cancel, 409))["code"] == "not_cancellable"
    rows = await audit_rows("voucher.use")
    assert [(r.status, r.target) for r in rows] == [
        (200, f"code:{typed}"),
        (409, f"code:{code}"),
    ]


async def test_mistyped_and_unknown_codes(client: Client, chat: Chat) -> None:
    headers = await staff_headers()
    code, _ = await redeemed(chat)
    mistyped = code[:-1] + ("2" if code[-1] != "2" else "3")
    resp = await client.get(f"/api/v1/vouchers/{mistyped}", headers=headers["clerk"])
    assert (await error_of(resp, 422))["fields"] == ["code"]
    resp = await client.get("/api/v1/vouchers/ABCD", headers=headers["clerk"])
    await error_of(resp, 404)
    resp = await client.post(
        f"/api/v1/vouchers/{code}/use", json={"store": "NOPE"}, headers=headers["clerk"]
    )
    assert (await error_of(resp, 422))["fields"] == ["store"]
    assert (await Redemption.get()).status == RedemptionStatus.ACTIVE


async def test_staff_cancel_returns_points_and_stock_outside_the_members_window(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    headers = await staff_headers()
    code, glass = await redeemed(chat)
    assert glass.stock == 4
    clock.advance(timedelta(hours=30))  # the member's own 24-hour window has passed
    clerk = await client.post(
        f"/api/v1/vouchers/{code}/cancel", json={"reason": "电话申请"}, headers=headers["clerk"]
    )
    await error_of(clerk, 403)
    resp = await client.post(
        f"/api/v1/vouchers/{code}/cancel", json={"reason": "电话申请"}, headers=headers["marketer"]
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert (body["status"], body["points_returned"], body["balance"]) == ("cancelled", 60, 100)
    assert (await Reward.get(id=glass.id)).stock == 5
    again = await client.post(
        f"/api/v1/vouchers/{code}/cancel", json={"reason": "电话申请"}, headers=headers["marketer"]
    )
    assert (await again.json())["balance"] == 100
    assert (await Member.get(openid=chat.openid)).points_balance == 100
    use = await client.post(f"/api/v1/vouchers/{code}/use", json={}, headers=headers["clerk"])
    assert "was cancelled on" in (await error_of(use, 409))["message"]
    rows = await audit_rows("voucher.cancel")
    assert [r.status for r in rows] == [403, 200, 200]
    assert rows[1].summary["reason"] == "电话申请"


async def test_vouchers_expire_once_with_their_points_returned(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    headers = await staff_headers()
    code, glass = await redeemed(chat)
    programme = chat.programme
    clock.advance(timedelta(days=30, seconds=1))
    # Past its time it reads as expired and cannot be used, before the daily run too.
    found = await (await client.get(f"/api/v1/vouchers/{code}", headers=headers["clerk"])).json()
    assert found["status"] == "expired"
    use = await client.post(f"/api/v1/vouchers/{code}/use", json={}, headers=headers["clerk"])
    assert "expired on 2026-12-23 10:00" in (await error_of(use, 409))["message"]
    [event] = await expire_vouchers(clock.now(), programme)
    member = await Member.get(openid=chat.openid)
    assert (event.member_id, event.points_returned, event.reward_name) == (
        member.id,
        60,
        "醇香酒杯",
    )
    assert member.points_balance == 100
    assert (await Reward.get(id=glass.id)).stock == 5
    assert await expire_vouchers(clock.now(), programme) == []
    refunds = await LedgerEntry.filter(member_id=member.id, kind="refund").count()
    assert refunds == 1


async def test_a_programme_may_keep_the_points_of_expired_vouchers(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    await redeemed(chat)
    keep = replace(chat.programme, vouchers=Vouchers(valid_days=30, refund_on_expiry=False))
    clock.advance(timedelta(days=31))
    [event] = await expire_vouchers(clock.now(), keep)
    assert event.points_returned == 0
    assert (await Member.get(openid=chat.openid)).points_balance == 40
    assert (await Redemption.get()).status == RedemptionStatus.EXPIRED


async def test_rewards_are_edited_disabled_and_restocked_with_an_audit(
    client: Client, chat: Chat
) -> None:
    headers = await staff_headers()
    marketer = headers["marketer"]
    glass = await create_reward("醇香酒杯", 60, chat.clock.now(), chat.programme, stock=2)
    url = f"/api/v1/rewards/{glass.id}"
    edited = await client.patch(
        url, json={"points_cost": 80, "description": "两只装", "min_tier": None}, headers=marketer
    )
    body = await edited.json()
    assert (body["points_cost"], body["description"]) == (80, "两只装")
    restocked = await client.post(f"{url}/stock", json={"add": 10}, headers=marketer)
    assert (await restocked.json())["stock"] == 12
    too_many = await client.post(f"{url}/stock", json={"add": -13}, headers=marketer)
    assert (await error_of(too_many, 409))["code"] == "stock_too_low"
    await error_of(await client.post(f"{url}/stock", json={"add": 0}, headers=marketer), 422)
    await error_of(await client.patch(url, json={"enabled": False}, headers=headers["clerk"]), 403)
    await error_of(await client.patch(url, json={"name": None}, headers=marketer), 422)
    await error_of(
        await client.patch("/api/v1/rewards/999", json={"enabled": False}, headers=marketer), 404
    )
    bad_tier = await client.patch(url, json={"min_tier": "platinum"}, headers=marketer)
    await error_of(bad_tier, 422)
    disabled = await client.patch(url, json={"enabled": False}, headers=marketer)
    assert (await disabled.json())["enabled"] is False
    await chat.join()
    assert await chat.say("兑换") == "暂时没有您可兑换的礼品，敬请期待。"
    unlimited = await create_reward("醒酒器", 500, chat.clock.now(), chat.programme)
    resp = await client.post(
        f"/api/v1/rewards/{unlimited.id}/stock", json={"add": 1}, headers=marketer
    )
    assert (await error_of(resp, 409))["code"] == "stock_not_limited"
    updates = await audit_rows("reward.update")
    assert [r.summary.get("changed") for r in updates if r.status == 200] == [
        "description,points_cost",
        "enabled",
    ]
    stock = await audit_rows("reward.stock")
    assert [(r.status, r.summary.get("stock_after")) for r in stock[:2]] == [(200, 12), (409, None)]


async def test_seeding_the_programme_catalogue_is_idempotent_and_never_resets_stock(
    client: Client, chat: Chat
) -> None:
    programme = chat.programme
    assert await seed_rewards(programme, chat.clock.now()) == 4
    glasses = await Reward.get(ref="programme:tasting_glasses")
    await Reward.filter(id=glasses.id).update(stock=3, points_cost=250)
    assert await seed_rewards(programme, chat.clock.now()) == 0
    again = await Reward.get(ref="programme:tasting_glasses")
    assert (again.stock, again.points_cost) == (3, 250)
    assert await Reward.all().count() == 4


async def test_a_fresh_machine_offers_the_demo_catalogue_in_chat(
    settings: Settings, clock: FixedClock, store: Redis
) -> None:
    if ON_POSTGRES:  # the in-memory SQLite database of a new app starts empty by itself
        async with database(TEST_DB_URL, create_schema=True):
            await clear_all_tables()
    app = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(app)) as fresh:
        chat = Chat(fresh, clock, store)
        await chat.join()
        listing = await chat.say("兑换")
        demo = load_programme(None)
        cheapest = min(demo.rewards, key=lambda r: r.points_cost)
        assert listing.startswith("可兑换的礼品：\n1. 品鉴酒杯一对  300 积分（还差 200 积分）")
        assert cheapest.name == "品鉴酒杯一对"
        assert "节日礼盒" not in listing  # gold members only
        await clear_all_tables()


async def test_the_daily_run_expires_vouchers_and_tells_each_member_once(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    from club.db.models.outbox import OutboxMessage
    from club.messaging.outbox import Outbox
    from scheduler.jobs import JobContext, job_body

    await redeemed(chat)
    clock.advance(timedelta(days=30, seconds=1))
    ctx = JobContext(programme=chat.programme, clock=clock, outbox=Outbox(chat.programme))
    counts = await job_body("expire-points", ctx)(clock.now().date())
    assert (counts["vouchers_expired"], counts["voucher_points_returned"]) == (1, 60)
    again = await job_body("expire-points", ctx)(clock.now().date())
    assert again["vouchers_expired"] == 0
    member = await Member.get(openid=chat.openid)
    [told] = await OutboxMessage.filter(member_id=member.id, kind="voucher")
    text = told.payload.get("text") or str(told.payload["data"])
    assert "醇香酒杯" in text and "60" in text
