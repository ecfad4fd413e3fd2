"""Member data rights: export everything stored; erase personal data, keep anonymous books."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.codes.bottle import generate_batch, redeem_code
from club.db.models.ledger import CheckIn, LedgerEntry, Purchase
from club.db.models.members import FollowEvent, FollowKind, Member, MemberStatus
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.members.birthday_text import SolarBirthday
from club.members.data_rights import erase_member_data, erased_openid, export_member_data
from club.members.enrolment import (
    MemberNotFound,
    card_view,
    complete_enrolment,
    find_member,
    get_or_create_member,
    record_consent,
    set_phone,
)
from club.programme import Programme, load_programme
from club.rewards.redemptions import create_reward, redeem

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def rich_member(programme: Programme) -> int:
    """A member with something in every section of the export."""
    member = await get_or_create_member("oDATA", NOW, unionid="uDATA")
    await Member.filter(id=member.id).update(name="王小明", source_kind="store", source_ref="12")
    await FollowEvent.create(
        member_id=member.id, kind=FollowKind.SUBSCRIBE, at=NOW - timedelta(days=1),
        scene="store_12", wechat_create_time=1_700_000_000,
    )  # fmt: skip
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", SolarBirthday(5, 20, 1988), NOW, programme)
    code = (await generate_batch(1, 25, "data-batch", NOW)).codes[0]
    await redeem_code(member.id, code, NOW, programme)
    reward = await create_reward("酒杯", 50, NOW, programme, stock=3)
    await redeem(member.id, reward.id, NOW, "data-redeem", programme)
    await Purchase.create(
        order_id="ORD-1", member_id=member.id, amount_fen=12_800, points_earned=0,
        balance_after=75, tier_before="taste", tier_after="taste", created_at=NOW,
    )  # fmt: skip
    await CheckIn.create(
        member_id=member.id, day=date(2026, 11, 23), streak=1, points=2, bonus=0, created_at=NOW
    )
    for status in (OutboxStatus.SENT, OutboxStatus.QUEUED):
        await OutboxMessage.create(
            idempotency_key=f"k-{status}", openid="oDATA", member_id=member.id, kind="reply",
            payload={"msgtype": "text", "text": {"content": "王小明，您好"}}, status=status,
        )  # fmt: skip
    return int(member.id)


async def test_export_holds_everything_stored(db: None, programme: Programme) -> None:
    member_id = await rich_member(programme)
    data = await export_member_data(member_id)
    p = data.profile
    assert (p.openid, p.unionid, p.name, p.phone) == ("oDATA", "uDATA", "王小明", "13812345678")
    assert p.birthday == SolarBirthday(5, 20, 1988)
    assert p.consent_version == programme.consent.version and p.consent_at == NOW
    assert (p.source_kind, p.source_ref, p.tier) == ("store", "12", "taste")
    assert p.erased_at is None and not p.flagged_for_review
    assert p.points_balance == 100 + 25 - 50
    assert [f.scene for f in data.follows] == ["store_12"]
    assert [(e.kind, e.points) for e in data.ledger] == [
        ("bonus", 100),
        ("bonus", 25),
        ("redeem", -50),
    ]
    assert [x.order_id for x in data.purchases] == ["ORD-1"]
    assert [(r.points, r.status) for r in data.redemptions] == [(50, "active")]
    assert [c.points for c in data.bottle_codes] == [25]
    assert [(c.day, c.points) for c in data.checkins] == [(date(2026, 11, 23), 2)]
    with pytest.raises(MemberNotFound):
        await export_member_data(999_999)


async def test_erasure_removes_personal_data_and_keeps_the_books(
    db: None, programme: Programme
) -> None:
    member_id = await rich_member(programme)
    ledger_before = await LedgerEntry.filter(member_id=member_id).count()
    when = NOW + timedelta(days=2)

    result = await erase_member_data(member_id, when)

    assert not result.already_erased and result.erased_at == when
    m = await Member.get(id=member_id)
    assert m.openid == erased_openid(member_id) and m.unionid is None and m.name is None
    assert m.phone is None and m.birthday_solar is None and m.birthday_mmdd is None
    assert m.birthday_lunar_month is None and m.status is MemberStatus.DELETED
    assert m.erased_at == when
    assert (await export_member_data(member_id)).profile.erased_at == when
    assert m.consent_at == NOW and m.consent_version == programme.consent.version
    assert m.points_balance == 75 and m.tier == "taste"
    assert await LedgerEntry.filter(member_id=member_id).count() == ledger_before
    assert await Purchase.filter(member_id=member_id).count() == 1

    outbox = {o.status: o for o in await OutboxMessage.filter(member_id=member_id)}
    assert outbox[OutboxStatus.SENT].openid == erased_openid(member_id)
    assert outbox[OutboxStatus.SENT].payload == {"erased": True}
    assert OutboxStatus.QUEUED not in outbox and OutboxStatus.SKIPPED in outbox

    data = await export_member_data(member_id)
    assert data.profile.phone is None and data.profile.birthday is None
    assert data.profile.name is None and len(data.ledger) == ledger_before

    assert await find_member("oDATA") is None
    again = await erase_member_data(member_id, when + timedelta(days=1))
    assert again.already_erased and again.erased_at == when
    with pytest.raises(MemberNotFound):
        await set_phone(member_id, "13812345678", when)
    with pytest.raises(MemberNotFound):
        await card_view(member_id, when, programme)

    # The same WeChat user following again is a new, empty member.
    fresh = await get_or_create_member("oDATA", when)
    assert fresh.id != member_id and fresh.points_balance == 0 and fresh.phone is None


async def test_erasing_an_unknown_member_is_refused(db: None) -> None:
    with pytest.raises(MemberNotFound):
        await erase_member_data(424242, NOW)
