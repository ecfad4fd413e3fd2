"""A message for every change of points a member did not cause in chat: purchases, returns and
staff adjustments recorded through the staff API each tell the member once, through the
delivery rules (window, template, quiet hours)."""

from __future__ import annotations

from datetime import timedelta

from club.db.models.outbox import OutboxChannel, OutboxMessage
from tests.bot.test_staff_api_support import NOW, Client, joined_member, staff_headers


async def messages(member_id: int) -> list[OutboxMessage]:
    return await OutboxMessage.filter(member_id=member_id).order_by("id")


async def test_a_purchase_tells_the_points_earned_once(client: Client) -> None:
    member = await joined_member(tier="taste", last_message_at=NOW - timedelta(hours=1))
    headers = await staff_headers()
    body = {"member_id": member.id, "order_id": "N-1", "amount_fen": 12_050}
    for _ in range(2):  # a repeated order tells nobody twice
        assert (await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])).ok
    [message] = await messages(member.id)
    assert (message.kind, message.channel) == ("points_change", OutboxChannel.CUSTOM)
    assert message.idempotency_key == f"purchase:{member.id}:N-1"
    assert message.payload["text"] == "感谢惠顾！本次消费120.5元，获得120积分，当前积分120。"


async def test_a_purchase_that_lifts_the_tier_is_one_message(client: Client) -> None:
    member = await joined_member(tier="taste", last_message_at=NOW - timedelta(hours=1))
    headers = await staff_headers()
    body = {"member_id": member.id, "order_id": "N-2", "amount_fen": 300_000}
    assert (await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])).ok
    [message] = await messages(member.id)
    assert message.kind == "tier_change"
    assert message.payload["text"].startswith("感谢惠顾！本次消费3000元，获得3000积分")
    assert "恭喜您升级为银卡会员" in message.payload["text"]


async def test_outside_the_window_the_points_template_goes(client: Client) -> None:
    member = await joined_member(tier="taste")  # never wrote: no customer-service window
    headers = await staff_headers()
    body = {"member_id": member.id, "order_id": "N-3", "amount_fen": 50_000}
    assert (await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])).ok
    [message] = await messages(member.id)
    assert message.channel is OutboxChannel.TEMPLATE
    assert message.payload["template_id"] == "demo-tmpl-points-change"
    assert message.payload["data"] == {
        "thing1": "消费500元",
        "character_string2": "+500",
        "number3": "500",
        "time4": "2026年11月23日",
    }


async def test_a_return_tells_the_points_taken_back(client: Client) -> None:
    member = await joined_member(tier="taste", last_message_at=NOW - timedelta(hours=1))
    headers = await staff_headers()
    purchase = {"member_id": member.id, "order_id": "N-4", "amount_fen": 20_000}
    assert (await client.post("/api/v1/purchases", json=purchase, headers=headers["clerk"])).ok
    back = {"order_id": "N-4", "amount_fen": 5_000, "ref": "R-1"}
    for _ in range(2):
        assert (await client.post("/api/v1/returns", json=back, headers=headers["clerk"])).ok
    _earned, returned = await messages(member.id)
    assert returned.idempotency_key == "return:R-1"
    assert returned.payload["text"] == "您的订单N-4退货50元，扣回50积分，当前积分150。"


async def test_an_adjustment_tells_the_change_and_its_reason_once(client: Client) -> None:
    member = await joined_member(tier="taste", language="en", last_message_at=NOW)
    headers = await staff_headers()
    url = f"/api/v1/members/{member.id}/adjustments"
    body = {"points": 80, "reason": "missed purchase", "ref": "adj-1"}
    for _ in range(2):  # the same ref again moves no points and tells nobody twice
        assert (await client.post(url, json=body, headers=headers["admin"])).ok
    [message] = await messages(member.id)
    assert message.idempotency_key == "adjust:adj-1"
    assert message.payload["text"] == (
        "Your points were adjusted by +80 (missed purchase); your balance is 80."
    )


async def test_late_at_night_the_message_waits_for_morning(client: Client) -> None:
    from bot.deps import DEPS

    clock = client.app[DEPS].clock
    clock.set(NOW.replace(hour=22, minute=15))  # type: ignore[attr-defined]
    member = await joined_member(tier="taste", last_message_at=clock.now() - timedelta(hours=1))
    headers = await staff_headers()
    body = {"member_id": member.id, "order_id": "N-5", "amount_fen": 10_000}
    assert (await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])).ok
    [message] = await messages(member.id)
    assert message.not_before == (NOW + timedelta(days=1)).replace(hour=9, minute=0)
