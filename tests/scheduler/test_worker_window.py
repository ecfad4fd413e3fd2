"""The sender checks the customer-service window's allowance when a message goes, not only when
it was queued: replies sent in between count, replies themselves are never held back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import count

from bot.outbox import OUTCOME_UNKNOWN, DeliveryStatus, Outbox, TextMessage
from club.clock import FixedClock
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.messaging.window import OUTCOME_UNKNOWN_PREFIX
from club.programme import Programme
from scheduler.worker import deliver_ids, send_due
from tests.fakes import FakeWeChat

SEND = "message/custom/send"
TEMPLATE = "message/template/send"
_keys = count(1)


async def wrote(clock: FixedClock, hours_ago: float) -> Member:
    at = clock.now() - timedelta(hours=hours_ago)
    return await Member.create(
        openid=f"oWindow{next(_keys):06d}",
        status=MemberStatus.ACTIVE,
        joined_at=at - timedelta(days=9),
        last_interaction_at=at,
        last_message_at=at,
    )


async def queued(outbox: Outbox, member: Member, kind: str = "birthday") -> int:
    row = await outbox.enqueue(
        openid=member.openid,
        kind=kind,
        key=f"test:{kind}:{next(_keys)}",
        payload=TextMessage("生日快乐"),
        member_id=member.id,
    )
    return row.id


async def replies(outbox: Outbox, member: Member, n: int) -> list[DeliveryStatus]:
    return [
        await outbox.send_now(
            openid=member.openid,
            kind="reply",
            key=f"reply:{next(_keys)}",
            payload=TextMessage("您的积分：80"),
            member_id=member.id,
        )
        for _ in range(n)
    ]


async def test_replies_sent_since_queueing_use_up_the_allowance_then_template(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=10)
    greeting = await queued(outbox, member)  # queued with the whole allowance left
    assert await replies(outbox, member, 5) == [DeliveryStatus.SENT] * 5
    counts = await deliver_ids(outbox, [greeting], programme, clock.now())
    assert counts == {"outside_window": 1, "template_sent": 1}
    assert fake.count(SEND) == 5 and fake.count(TEMPLATE) == 1
    row = await OutboxMessage.get(id=greeting)
    assert row.status is OutboxStatus.SKIPPED
    assert row.last_error is not None
    assert row.last_error.startswith("window allowance used: 5 of 5 customer-service messages")
    template = await OutboxMessage.get(idempotency_key=f"{row.idempotency_key}:template")
    assert template.channel is OutboxChannel.TEMPLATE and template.status is OutboxStatus.SENT
    assert fake.calls(TEMPLATE)[0].body["template_id"] == "demo-tmpl-birthday"


async def test_with_room_left_it_goes_by_customer_service(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=10)
    greeting = await queued(outbox, member)
    await replies(outbox, member, 4)
    assert await deliver_ids(outbox, [greeting], programme, clock.now()) == {"sent": 1}
    assert fake.count(SEND) == 5 and fake.count(TEMPLATE) == 0


async def test_replies_are_never_held_back_by_the_allowance(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=1)
    greetings = [await queued(outbox, member) for _ in range(5)]
    assert await deliver_ids(outbox, greetings, programme, clock.now()) == {"sent": 5}
    # The allowance is used up; a reply to the member's message still goes (WeChat decides).
    assert await replies(outbox, member, 1) == [DeliveryStatus.SENT]
    # A reply that waited for a retry is not held back by the sender either.
    late = await outbox.enqueue(
        openid=member.openid,
        kind="reply",
        key="reply:late",
        payload=TextMessage("稍等"),
        member_id=member.id,
    )
    assert await deliver_ids(outbox, [late.id], programme, clock.now()) == {"sent": 1}
    assert fake.count(SEND) == 7


async def test_the_check_is_at_sending_time_after_quiet_hours(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    # Queued at 22:00 for 09:00; the member's message at 21:00 still opens the window then, but
    # five replies went out in the evening.
    clock.set(clock.now().replace(hour=22))
    member = await wrote(clock, hours_ago=1)
    await replies(outbox, member, 5)
    row = await outbox.enqueue(
        openid=member.openid,
        kind="birthday",
        key="greeting:late",
        payload=TextMessage("生日快乐"),
        member_id=member.id,
        not_before=(clock.now() + timedelta(days=1)).replace(hour=9),
    )
    clock.set((clock.now() + timedelta(days=1)).replace(hour=9))
    assert await send_due(outbox, programme, clock.now()) == {
        "outside_window": 1,
        "template_sent": 1,
    }
    assert (await OutboxMessage.get(id=row.id)).status is OutboxStatus.SKIPPED


async def test_rows_for_no_known_member_are_left_to_wechat(
    outbox: Outbox, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    row = await outbox.enqueue(
        openid="oStaffOnly0001", kind="notice", key="notice:1", payload=TextMessage("x")
    )
    assert await deliver_ids(outbox, [row.id], programme, clock.now()) == {"sent": 1}


async def test_two_senders_racing_for_the_last_allowed_message_send_at_most_one(
    pg_only: None, outbox: Outbox, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=10)
    first, second = await queued(outbox, member), await queued(outbox, member)
    await replies(outbox, member, 4)  # one left
    a, b = await asyncio.gather(
        deliver_ids(outbox, [first], programme, clock.now()),
        deliver_ids(outbox, [second], programme, clock.now()),
    )
    assert fake.count(SEND) - 4 <= 1
    assert fake.count(SEND) - 4 + fake.count(TEMPLATE) == 2
    assert (a + b)["template_sent"] >= 1


def test_the_outcome_unknown_marker_is_the_one_counted() -> None:
    assert OUTCOME_UNKNOWN.startswith(OUTCOME_UNKNOWN_PREFIX)
