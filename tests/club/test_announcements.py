"""Every announcement the club makes, built once (club.messaging.announcements) and recorded
through the one outbox writer: as a customer-service message (with its template as fallback)
while the member's window is open, as the programme's template with its fields when it is not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.messaging import announcements
from club.messaging.announcements import PointsChange, Say, yuan
from club.messaging.outbox import Outbox
from club.programme import Programme, load_programme
from club.programme.templates import ANNOUNCEMENTS
from club.rules.programme import Text

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
PROGRAMME = load_programme(None)
MID_AUTUMN = [f for f in PROGRAMME.festivals if f.key == "mid_autumn"]
BOUGHT = PointsChange(120, 680, amount_fen=12000, order="A1001")
RETURNED = PointsChange(60, 620, amount_fen=6050, order="A1001")
_ids = count(1)


def birthday(p: Programme) -> Say:
    return announcements.greeting(p, (), True, NOW.date())


def festival(p: Programme) -> Say:
    return announcements.greeting(p, MID_AUTUMN, False, NOW.date())


def points_expiry(p: Programme) -> Say:
    return announcements.points_expiry(p, 80, date(2026, 12, 31), NOW)


CASES: dict[str, tuple[Callable[[Programme], Say], str, str, dict[str, str] | None]] = {
    # announcement: (builder, outbox kind, text the member reads, template fields: None when the
    # demo maps no template)
    "birthday": (
        birthday,
        "birthday",
        "王芳，生日快乐！金卡会员专属300积分生日礼已到账，愿您事事如意，举杯同庆。",
        {"thing1": "王芳", "thing2": "生日快乐，300积分生日礼已到账", "time3": "2026年11月23日"},
    ),
    "festival": (
        festival,
        "festival",
        "中秋快乐！花好月圆，醇香会祝您阖家幸福。",
        {
            "thing1": "中秋快乐",
            "thing2": "中秋快乐！花好月圆，醇香会祝您阖家幸福。",
            "time3": "2026年11月23日",
        },
    ),
    "points_expiry": (
        points_expiry,
        "points_expiry",
        "您有80积分将于12月31日后到期，记得及时兑换哦。",
        {"number1": "80", "time2": "2026年12月31日", "thing3": "积分即将到期，请及时兑换"},
    ),
    "tier_upgrade": (
        lambda p: announcements.tier_upgrade(p, "black", NOW),
        "tier_change",
        "恭喜您升级为黑金会员！",
        {"thing1": "黑金", "time2": "2026年11月23日", "thing3": "新等级权益已为您开启"},
    ),
    "tier_downgrade": (
        lambda p: announcements.tier_downgrade(p, "silver", NOW),
        "tier_change",
        "感谢您一直以来的支持，您的会员等级调整为银卡。12个月内消费满10000元即可重回金卡。",
        {"thing1": "银卡", "time2": "2026年11月23日", "thing3": "12个月满10000元回金卡"},
    ),
    "purchase_upgrade": (
        lambda p: announcements.purchase(p, BOUGHT, "black", NOW),
        "tier_change",
        "感谢惠顾！本次消费120元，获得120积分，当前积分680。"
        "恭喜您升级为黑金会员！感谢您的支持，新等级的权益已为您开启。",
        {"thing1": "黑金", "time2": "2026年11月23日", "thing3": "感谢惠顾，新等级权益已开启"},
    ),
    "points_earned": (
        lambda p: announcements.purchase(p, BOUGHT, None, NOW),
        "points_change",
        "感谢惠顾！本次消费120元，获得120积分，当前积分680。",
        {
            "thing1": "消费120元",
            "character_string2": "+120",
            "number3": "680",
            "time4": "2026年11月23日",
        },
    ),
    "points_reversed": (
        lambda p: announcements.points_reversed(p, RETURNED, NOW),
        "points_change",
        "您的订单A1001退货60.5元，扣回60积分，当前积分620。",
        {
            "thing1": "退货60.5元",
            "character_string2": "-60",
            "number3": "620",
            "time4": "2026年11月23日",
        },
    ),
    # Nothing came back (no refund, or only points of lots expired since): no "退回0积分".
    "voucher_expired": (
        lambda p: announcements.voucher_expired(p, "醇香酒杯", "K7P2-9QX4", 0, NOW),
        "voucher",
        "您兑换的醇香酒杯（券码K7P2-9QX4）已过期。",
        {"thing1": "醇香酒杯", "character_string2": "K7P2-9QX4", "thing3": "已过期"},
    ),
    "voucher_expired_refunded": (
        lambda p: announcements.voucher_expired(p, "醇香酒杯", "K7P2-9QX4", 60, NOW),
        "voucher",
        "您兑换的醇香酒杯（券码K7P2-9QX4）已过期，60积分已退回您的账户。",
        {"thing1": "醇香酒杯", "character_string2": "K7P2-9QX4", "thing3": "已过期，退回60积分"},
    ),
    "ticket_answer": (
        lambda p: announcements.ticket_answer(p, "已为您补发积分", NOW),
        "ticket",
        "【会员服务】已为您补发积分",
        {"thing1": "已为您补发积分", "time2": "2026年11月23日"},
    ),
    "ticket_closed": (
        lambda p: announcements.ticket_closed(p, NOW),
        "ticket",
        "您的人工服务已结束，感谢您的耐心。如需帮助，随时发送“人工”。",
        None,
    ),
    "points_adjusted": (
        lambda p: announcements.points_adjusted(p, -50, 730, "补录错误", NOW),
        "points_change",
        "您的积分已调整-50（补录错误），当前积分730。",
        {
            "thing1": "补录错误",
            "character_string2": "-50",
            "number3": "730",
            "time4": "2026年11月23日",
        },
    ),
    "reply": (
        lambda p: announcements.reply("您的积分：80", NOW),
        "reply",
        "您的积分：80",
        {"thing1": "您的积分：80", "time2": "2026年11月23日"},
    ),
    # A campaign without a template of its own takes the programme's `campaign` template.
    "campaign": (
        lambda p: announcements.campaign(p, "中秋品鉴", Text("中秋品鉴会邀您光临", "Join us"), NOW),
        "campaign",
        "中秋品鉴会邀您光临",
        {"thing1": "中秋品鉴", "thing2": "中秋品鉴会邀您光临", "time3": "2026年11月23日"},
    ),
}


def test_every_announcement_the_programme_can_map_is_covered_here() -> None:
    assert set(CASES) == set(ANNOUNCEMENTS)


async def gold_member(*, window_open: bool) -> Member:
    n = next(_ids)
    return await Member.create(
        openid=f"oAnnounce{n:05d}",
        status=MemberStatus.ACTIVE,
        name="王芳",
        tier="gold",
        consent_at=NOW - timedelta(days=30),
        joined_at=NOW - timedelta(days=30),
        last_message_at=NOW - timedelta(hours=1) if window_open else None,
        last_interaction_at=NOW - timedelta(hours=1) if window_open else None,
    )


@pytest.mark.parametrize("name", sorted(CASES))
async def test_outside_the_window_the_mapped_template_goes(db: None, name: str) -> None:
    build, kind, _text, fields = CASES[name]
    member = await gold_member(window_open=False)
    told = await Outbox(PROGRAMME).tell(
        build(PROGRAMME), key=f"t:{name}", now=NOW, member_id=member.id
    )
    row = await OutboxMessage.get(idempotency_key=f"t:{name}")
    mapping = PROGRAMME.template_for(name)
    if fields is None:  # no template: outside the window it cannot go, and says why
        assert mapping is None and not told.sendable
        assert (row.status, row.last_error or "")[0] == "skipped"
        assert (row.last_error or "").startswith("skipped: no channel")
        return
    assert told.sendable
    assert mapping is not None
    assert (row.kind, row.channel, row.status) == (kind, OutboxChannel.TEMPLATE, "queued")
    assert row.payload == {
        "msgtype": "template",
        "template_id": mapping.template_id,
        "data": fields,
        "url": None,
    }


@pytest.mark.parametrize("name", sorted(CASES))
async def test_inside_the_window_a_customer_service_message_goes(db: None, name: str) -> None:
    build, kind, text, fields = CASES[name]
    member = await gold_member(window_open=True)
    await Outbox(PROGRAMME).tell(build(PROGRAMME), key=f"c:{name}", now=NOW, member_id=member.id)
    row = await OutboxMessage.get(idempotency_key=f"c:{name}")
    assert (row.kind, row.channel) == (kind, OutboxChannel.CUSTOM)
    assert row.payload["msgtype"] == "text" and row.payload["text"] == text
    if fields is None:
        assert "fallback" not in row.payload
    else:
        assert row.payload["fallback"]["data"] == fields


async def test_english_members_read_english(db: None) -> None:
    member = await gold_member(window_open=True)
    await Member.filter(id=member.id).update(language="en")
    say = announcements.tier_downgrade(PROGRAMME, "silver", NOW)
    await Outbox(PROGRAMME).tell(say, key="en", now=NOW, member_id=member.id)
    row = await OutboxMessage.get(idempotency_key="en")
    assert row.payload["text"] == (
        "Your tier is now Silver. Thank you for being with us. "
        "Spend 10000 yuan in 12 months to regain Gold."
    )


VOUCHER_EN = "Your voucher for 醇香酒杯 (K7P2-9QX4) has expired"


@pytest.mark.parametrize(
    ("returned", "text", "thing3"),
    [
        (0, f"{VOUCHER_EN}.", "已过期"),
        (1, f"{VOUCHER_EN}; you got 1 point back.", "已过期，退回1积分"),
        (60, f"{VOUCHER_EN}; you got 60 points back.", "已过期，退回60积分"),
    ],
)
async def test_an_expired_voucher_tells_english_members_of_points_only_when_some_came_back(
    db: None, returned: int, text: str, thing3: str
) -> None:
    """The text in English; the template's fields are the brand's Chinese ones for everyone."""
    member = await gold_member(window_open=True)
    await Member.filter(id=member.id).update(language="en")
    say = announcements.voucher_expired(PROGRAMME, "醇香酒杯", "K7P2-9QX4", returned, NOW)
    await Outbox(PROGRAMME).tell(say, key="v", now=NOW, member_id=member.id)
    row = await OutboxMessage.get(idempotency_key="v")
    assert row.payload["text"] == text
    assert row.payload["fallback"]["data"] == {
        "thing1": "醇香酒杯",
        "character_string2": "K7P2-9QX4",
        "thing3": thing3,
    }


async def test_points_back_take_the_plain_expired_template_where_none_is_mapped_for_them(
    db: None,
) -> None:
    """A programme that maps only `voucher_expired` still reaches members outside the window
    when points came back: with that template, which says the voucher expired."""
    plain = [t for t in PROGRAMME.templates if t.announcement != "voucher_expired_refunded"]
    programme = replace(PROGRAMME, templates=tuple(plain))
    member = await gold_member(window_open=False)
    say = announcements.voucher_expired(programme, "醇香酒杯", "K7P2-9QX4", 60, NOW)
    told = await Outbox(programme).tell(say, key="v", now=NOW, member_id=member.id)
    assert told.sendable
    row = await OutboxMessage.get(idempotency_key="v")
    assert row.payload["data"] == {
        "thing1": "醇香酒杯",
        "character_string2": "K7P2-9QX4",
        "thing3": "已过期",
    }


async def test_the_same_key_again_records_nothing(db: None) -> None:
    member = await gold_member(window_open=True)
    outbox = Outbox(PROGRAMME)
    first = await outbox.tell(
        announcements.tier_upgrade(PROGRAMME, "black", NOW), key="k", now=NOW, member_id=member.id
    )
    again = await outbox.tell(
        announcements.tier_upgrade(PROGRAMME, "gold", NOW), key="k", now=NOW, member_id=member.id
    )
    assert first.outbox_id is not None and again.outbox_id is None
    [row] = await OutboxMessage.all()
    assert "黑金" in row.payload["text"]


async def test_a_member_nobody_can_reach_is_recorded_as_skipped_with_the_reason(db: None) -> None:
    member = await gold_member(window_open=True)
    await Member.filter(id=member.id).update(status=MemberStatus.UNFOLLOWED)
    told = await Outbox(PROGRAMME).tell(
        announcements.tier_upgrade(PROGRAMME, "black", NOW), key="s", now=NOW, member_id=member.id
    )
    assert not told.sendable and told.outbox_id is None
    row = await OutboxMessage.get(idempotency_key="s")
    assert (row.status, row.last_error) == (OutboxStatus.SKIPPED, "skipped: member unfollowed")


async def test_no_such_member_records_nothing(db: None) -> None:
    told = await Outbox(PROGRAMME).tell(
        announcements.tier_upgrade(PROGRAMME, "black", NOW), key="x", now=NOW, member_id=10**9
    )
    assert told.plan is None and await OutboxMessage.all().count() == 0


async def marketing_sent(member: Member, kinds: list[str], *, days_ago: float = 1) -> None:
    for i, kind in enumerate(kinds):
        await OutboxMessage.create(
            idempotency_key=f"earlier:{member.id}:{kind}:{i}",
            openid=member.openid,
            member_id=member.id,
            kind=kind,
            payload={"msgtype": "text", "text": "x"},
            status=OutboxStatus.SENT,
            sent_at=NOW - timedelta(days=days_ago),
        )
    await OutboxMessage.filter(member_id=member.id).update(
        created_at=NOW - timedelta(days=days_ago)
    )


async def test_greetings_reminders_and_campaigns_share_one_weekly_cap(db: None) -> None:
    member = await gold_member(window_open=True)
    await marketing_sent(member, ["campaign", "festival", "points_expiry"])
    outbox = Outbox(PROGRAMME)
    greeting = await outbox.tell(birthday(PROGRAMME), key="g", now=NOW, member_id=member.id)
    assert not greeting.sendable
    row = await OutboxMessage.get(idempotency_key="g")
    assert row.last_error == "skipped: frequency cap (3 marketing messages in 7 days, at most 3)"
    # Service messages are never capped.
    notice = await outbox.tell(
        announcements.tier_upgrade(PROGRAMME, "black", NOW), key="t", now=NOW, member_id=member.id
    )
    assert notice.sendable


async def test_the_cap_counts_seven_days_only(db: None) -> None:
    member = await gold_member(window_open=True)
    await marketing_sent(member, ["campaign", "festival", "points_expiry"], days_ago=7.5)
    told = await Outbox(PROGRAMME).tell(birthday(PROGRAMME), key="g", now=NOW, member_id=member.id)
    assert told.sendable


async def test_the_cap_counts_by_the_clubs_clock_when_the_messages_were_written(db: None) -> None:
    member = await gold_member(window_open=True)
    outbox = Outbox(PROGRAMME)
    earlier = NOW - timedelta(days=8)
    for i in range(3):
        told = await outbox.tell(birthday(PROGRAMME), key=f"b{i}", now=earlier, member_id=member.id)
        assert told.sendable
    row = await OutboxMessage.get(idempotency_key="b0")
    assert row.created_at == earlier  # the club's clock, not the machine's
    # Eight days on, the three no longer count against the cap.
    assert (
        await outbox.tell(birthday(PROGRAMME), key="now", now=NOW, member_id=member.id)
    ).sendable


def test_amounts_read_as_yuan() -> None:
    assert [yuan(f) for f in (12000, 9950, 1, 100, -250)] == ["120", "99.5", "0.01", "1", "-2.5"]
