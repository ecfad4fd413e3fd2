"""The customer-service window's allowance on the database: counted from the outbox, configured
by the programme, used by greetings and the expiry reminder when they choose the channel."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.greetings.service import greet_birthdays, ledger_gifts
from club.messaging.plan import delivery_rules
from club.messaging.window import contact_for, custom_sent
from club.points import ledger as points
from club.programme import Programme, ProgrammeError, load_programme, parse_programme
from club.programme.demo import DEMO_TOML
from club.rules.kinds import EntryKind

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
_ids = count(1)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


def with_delivery(programme: Programme, **changes: Any) -> Programme:
    return dataclasses.replace(
        programme, delivery=dataclasses.replace(programme.delivery, **changes)
    )


async def birthday_member(
    *, wrote: datetime | None = None, interacted: datetime | None = None
) -> Member:
    return await Member.create(
        openid=f"oWindow{next(_ids):06d}",
        status=MemberStatus.ACTIVE,
        consent_at=NOW - timedelta(days=30),
        joined_at=NOW - timedelta(days=30),
        tier="taste",
        birthday_mmdd=1123,
        last_message_at=wrote,
        last_interaction_at=interacted or wrote,
    )


async def sent_to(
    member: Member,
    *times: datetime,
    status: OutboxStatus = OutboxStatus.SENT,
    channel: OutboxChannel = OutboxChannel.CUSTOM,
    kind: str = "reply",
    last_error: str | None = None,
) -> None:
    """Outbox rows to the member, as the sender leaves them."""
    for at in times:
        await OutboxMessage.create(
            idempotency_key=f"test:{next(_ids)}",
            openid=member.openid,
            member_id=member.id,
            kind=kind,
            channel=channel,
            payload={"msgtype": "text", "text": "hi"},
            status=status,
            sent_at=at if status is OutboxStatus.SENT else None,
            last_error=last_error,
        )


async def greeting_of(member: Member) -> OutboxMessage:
    return await OutboxMessage.get(idempotency_key=f"greeting:{member.id}:{DAY.isoformat()}")


async def greet(programme: Programme) -> None:
    await greet_birthdays(DAY, programme=programme, now=NOW, gifts=ledger_gifts(programme))


async def test_wrote_ten_hours_ago_and_five_sent_the_greeting_goes_by_template(
    db: None, programme: Programme
) -> None:
    wrote = NOW - timedelta(hours=10)
    used = await birthday_member(wrote=wrote)
    await sent_to(used, *(wrote + timedelta(hours=h) for h in range(1, 6)))
    room = await birthday_member(wrote=wrote)
    await sent_to(room, *(wrote + timedelta(hours=h) for h in range(1, 5)))
    await greet(programme)
    used_row, room_row = await greeting_of(used), await greeting_of(room)
    assert used_row.channel is OutboxChannel.TEMPLATE
    assert used_row.payload["template_id"] == "demo-tmpl-birthday"
    assert room_row.channel is OutboxChannel.CUSTOM


async def test_the_allowance_is_the_programmes(db: None, programme: Programme) -> None:
    wrote = NOW - timedelta(hours=10)
    member = await birthday_member(wrote=wrote)
    await sent_to(member, wrote + timedelta(hours=1), wrote + timedelta(hours=2))
    await greet(with_delivery(programme, window_messages_after_message=2))
    assert (await greeting_of(member)).channel is OutboxChannel.TEMPLATE


async def test_allowance_used_and_no_template_is_skipped_with_the_reason(
    db: None, programme: Programme
) -> None:
    wrote = NOW - timedelta(hours=10)
    member = await birthday_member(wrote=wrote)
    await sent_to(member, *(wrote + timedelta(minutes=m) for m in range(5)))
    await greet(dataclasses.replace(programme, templates=()))
    row = await greeting_of(member)
    assert row.status is OutboxStatus.SKIPPED
    assert row.last_error is not None
    assert row.last_error.startswith("skipped: no channel (window allowance used: 5 of 5")


async def test_a_message_after_the_sends_opens_a_new_allowance(
    db: None, programme: Programme
) -> None:
    first = NOW - timedelta(hours=20)
    member = await birthday_member(wrote=NOW - timedelta(hours=2))
    await sent_to(member, *(first + timedelta(hours=h) for h in range(1, 6)))
    await greet(programme)
    assert (await greeting_of(member)).channel is OutboxChannel.CUSTOM


async def test_a_click_gives_fewer_messages_than_a_message(db: None, programme: Programme) -> None:
    # WeChat's own rule (the default): a click's window lasts one minute, so ten hours later
    # a greeting has to go by template.
    clicked = await birthday_member(interacted=NOW - timedelta(hours=10))
    await greet(programme)
    assert (await greeting_of(clicked)).channel is OutboxChannel.TEMPLATE
    await OutboxMessage.all().delete()
    # With a programme that gives a click a long window: 3 messages after a click, 5 after a
    # message; three sent already is the click's whole allowance and not the message's.
    long_clicks = with_delivery(programme, window_minutes_after_event=48 * 60)
    wrote = await birthday_member(wrote=NOW - timedelta(hours=10))
    three = [NOW - timedelta(hours=h) for h in (9, 8, 7)]
    await sent_to(clicked, *three)
    await sent_to(wrote, *three)
    await greet(long_clicks)
    assert (await greeting_of(clicked)).channel is OutboxChannel.TEMPLATE
    assert (await greeting_of(wrote)).channel is OutboxChannel.CUSTOM


async def test_what_counts_as_sent(db: None, programme: Programme) -> None:
    wrote = NOW - timedelta(hours=10)
    member = await birthday_member(wrote=wrote)
    later = wrote + timedelta(hours=1)
    await sent_to(member, later)  # counts
    await sent_to(member, later, status=OutboxStatus.SENDING)  # counts: going out now
    await sent_to(  # counts: WeChat may have it
        member,
        later,
        status=OutboxStatus.FAILED,
        last_error="outcome unknown: the sender stopped while sending",
    )
    await sent_to(member, later, status=OutboxStatus.FAILED, last_error="40003 invalid openid")
    await sent_to(member, later, status=OutboxStatus.SKIPPED, last_error="45047 limit")
    await sent_to(member, later, status=OutboxStatus.QUEUED)
    await sent_to(member, later, channel=OutboxChannel.TEMPLATE)
    await sent_to(member, wrote - timedelta(hours=1))  # before the window opened
    await sent_to(member, NOW - timedelta(days=3))  # older than any window
    rules = delivery_rules(programme)
    sent = await custom_sent([member.openid], since=NOW - timedelta(hours=48), now=NOW)
    assert len(sent[member.openid]) == 4  # the three, and the one before the window opened
    contact = await contact_for(member.id, rules, NOW)
    assert contact is not None and contact.last_message_at == wrote
    assert contact.sent_since(wrote) == 3
    assert await contact_for(10**9, rules, NOW) is None


async def test_expiry_reminder_counts_the_window_too(db: None, programme: Programme) -> None:
    from club.clock import FixedClock
    from club.messaging.outbox import Outbox
    from scheduler.jobs import JobContext, job_body

    wrote = NOW - timedelta(hours=10)
    member = await birthday_member(wrote=wrote)
    await sent_to(member, *(wrote + timedelta(hours=h) for h in range(1, 6)))
    await points.credit(
        member.id,
        80,
        kind=EntryKind.BONUS,
        ref="t:soon",
        reason="soon",
        now=NOW,
        expires_at=NOW + timedelta(days=20),
    )
    ctx = JobContext(programme=programme, clock=FixedClock(NOW), outbox=Outbox(programme))
    assert (await job_body("expire-points", ctx)(DAY))["reminders"] == 1
    reminder = await OutboxMessage.get(member_id=member.id, kind="points_expiry")
    assert reminder.channel is OutboxChannel.TEMPLATE


def _delivery_data(**values: object) -> dict[str, Any]:
    data = tomllib.loads(DEMO_TOML)
    data["delivery"].update(values)
    return data


def test_limits_load_from_the_programme() -> None:
    p = parse_programme(
        _delivery_data(
            window_messages_after_message=4,
            window_messages_after_event=2,
            window_minutes_after_event=30,
        )
    )
    rules = delivery_rules(p)
    assert (rules.messages_after_message, rules.messages_after_event) == (4, 2)
    assert rules.window_after_event == timedelta(minutes=30)
    demo = delivery_rules(load_programme(None))
    assert (demo.messages_after_message, demo.messages_after_event) == (5, 3)
    assert demo.window_after_event == timedelta(minutes=1)


def test_absent_limits_are_wechats() -> None:
    data = tomllib.loads(DEMO_TOML)
    for key in (
        "window_messages_after_message",
        "window_messages_after_event",
        "window_minutes_after_event",
    ):
        del data["delivery"][key]
    delivery = parse_programme(data).delivery
    assert delivery.window_messages_after_message == 5
    assert delivery.window_messages_after_event == 3
    assert delivery.window_minutes_after_event == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("window_messages_after_message", -1),
        ("window_messages_after_message", 21),
        ("window_messages_after_message", "5"),
        ("window_messages_after_message", True),
        ("window_messages_after_event", 2.5),
        ("window_messages_after_event", 100),
        ("window_minutes_after_event", -1),
        ("window_minutes_after_event", 48 * 60 + 1),
    ],
)
def test_a_bad_limit_is_refused_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ProgrammeError, match=f"delivery.{key}"):
        parse_programme(_delivery_data(**{key: value}))
