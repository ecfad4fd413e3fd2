"""The sender checks the customer-service window's allowance when a message goes, not only when
it was queued: replies sent in between count, replies themselves are never held back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from itertools import count

from club.clock import FixedClock
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.messaging.delivery import OUTCOME_UNKNOWN, Delivery, DeliveryStatus
from club.messaging.message import Envelope, Template, Text, encode
from club.messaging.window import OUTCOME_UNKNOWN_PREFIX
from club.programme import Programme
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


BIRTHDAY_TEMPLATE = Template("demo-tmpl-birthday", {"thing1": "生日快乐"})


async def row_for(
    member: Member | None,
    kind: str,
    text: str,
    *,
    key: str | None = None,
    not_before: datetime | None = None,
) -> int:
    """A customer-service row as the outbox writes one (with the template to fall back on)."""
    fallback = BIRTHDAY_TEMPLATE if kind == "birthday" else None
    row = await OutboxMessage.create(
        idempotency_key=key or f"test:{kind}:{next(_keys)}",
        openid=member.openid if member is not None else "oStaffOnly0001",
        member_id=member.id if member is not None else None,
        kind=kind,
        channel=OutboxChannel.CUSTOM,
        payload=encode(Envelope(Text(text), fallback)),
        not_before=not_before,
    )
    return int(row.id)


async def queued(member: Member, kind: str = "birthday") -> int:
    return await row_for(member, kind, "生日快乐")


async def replies(delivery: Delivery, member: Member, n: int) -> list[DeliveryStatus]:
    return [
        await delivery.deliver(await row_for(member, "reply", "您的积分：80")) for _ in range(n)
    ]


async def test_replies_sent_since_queueing_use_up_the_allowance_then_template(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=10)
    greeting = await queued(member)  # queued with the whole allowance left
    assert await replies(delivery, member, 5) == [DeliveryStatus.SENT] * 5
    counts = await delivery.deliver_ids([greeting])
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
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=10)
    greeting = await queued(member)
    await replies(delivery, member, 4)
    assert await delivery.deliver_ids([greeting]) == {"sent": 1}
    assert fake.count(SEND) == 5 and fake.count(TEMPLATE) == 0


async def test_replies_are_never_held_back_by_the_allowance(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=1)
    greetings = [await queued(member) for _ in range(5)]
    assert await delivery.deliver_ids(greetings) == {"sent": 5}
    # The allowance is used up; a reply to the member's message still goes (WeChat decides).
    assert await replies(delivery, member, 1) == [DeliveryStatus.SENT]
    # A reply that waited for a retry is not held back by the sender either.
    late = await row_for(member, "reply", "稍等", key="reply:late")
    assert await delivery.deliver_ids([late]) == {"sent": 1}
    assert fake.count(SEND) == 7


async def test_the_check_is_at_sending_time_after_quiet_hours(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    # Queued at 22:00 for 09:00; the member's message at 21:00 still opens the window then, but
    # five replies went out in the evening.
    clock.set(clock.now().replace(hour=22))
    member = await wrote(clock, hours_ago=1)
    await replies(delivery, member, 5)
    morning = (clock.now() + timedelta(days=1)).replace(hour=9)
    row = await row_for(member, "birthday", "生日快乐", not_before=morning)
    clock.set(morning)
    assert await delivery.send_due() == {
        "outside_window": 1,
        "template_sent": 1,
    }
    assert (await OutboxMessage.get(id=row)).status is OutboxStatus.SKIPPED


async def test_rows_for_no_known_member_are_left_to_wechat(
    delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    row = await row_for(None, "notice", "x")
    assert await delivery.deliver_ids([row]) == {"sent": 1}


async def test_two_senders_racing_for_the_last_allowed_message_send_at_most_one(
    pg_only: None, delivery: Delivery, fake: FakeWeChat, clock: FixedClock, programme: Programme
) -> None:
    member = await wrote(clock, hours_ago=10)
    first, second = await queued(member), await queued(member)
    await replies(delivery, member, 4)  # one left
    a, b = await asyncio.gather(delivery.deliver_ids([first]), delivery.deliver_ids([second]))
    assert fake.count(SEND) - 4 <= 1
    assert fake.count(SEND) - 4 + fake.count(TEMPLATE) == 2
    assert (a + b)["template_sent"] >= 1


def test_the_outcome_unknown_marker_is_the_one_counted() -> None:
    assert OUTCOME_UNKNOWN.startswith(OUTCOME_UNKNOWN_PREFIX)
