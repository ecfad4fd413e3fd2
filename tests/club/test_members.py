"""Member services: creation, consent, enrolment with the welcome bonus, phone, birthday, card."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.db.models.ledger import LedgerEntry, Purchase
from club.db.models.members import Member
from club.members.birthday_text import LunarBirthday, SolarBirthday
from club.members.enrolment import (
    ConsentRequired,
    EnrolmentStage,
    EnrolmentStatus,
    InvalidPhone,
    MemberNotFound,
    card_view,
    complete_enrolment,
    enrolment_stage,
    find_member,
    get_or_create_member,
    record_consent,
    set_birthday,
    set_phone,
    stored_birthday,
)
from club.points import ledger as points
from club.programme import Programme, load_programme

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def test_get_or_create_is_one_member_per_openid(db: None) -> None:
    first = await get_or_create_member("oOPENID1", NOW)
    again = await get_or_create_member("oOPENID1", NOW)
    assert first.id == again.id
    found = await find_member("oOPENID1")
    assert found is not None and found.id == first.id
    assert await find_member("nobody") is None
    racing = await asyncio.gather(*(get_or_create_member("oRACE", NOW) for _ in range(5)))
    assert len({m.id for m in racing}) == 1
    assert await Member.filter(openid="oRACE").count() == 1


async def test_personal_data_needs_consent(db: None, programme: Programme) -> None:
    member = await get_or_create_member("oNOCONSENT", NOW)
    with pytest.raises(ConsentRequired):
        await set_phone(member.id, "13812345678", NOW)
    with pytest.raises(ConsentRequired):
        await set_birthday(member.id, SolarBirthday(5, 20), NOW)
    with pytest.raises(ConsentRequired):
        await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    stored = await Member.get(id=member.id)
    assert stored.phone is None and stored.birthday_mmdd is None and stored.joined_at is None
    assert await LedgerEntry.filter(member_id=member.id).count() == 0


async def test_enrolment_sets_tier_and_pays_the_welcome_bonus_once(
    db: None, programme: Programme
) -> None:
    member = await get_or_create_member("oJOIN", NOW)
    assert await enrolment_stage(member.id) is EnrolmentStage.NOT_STARTED
    await record_consent(member.id, NOW, programme)
    assert await enrolment_stage(member.id) is EnrolmentStage.CONSENTED
    result = await complete_enrolment(
        member.id, "138 1234 5678", LunarBirthday(8, 15), NOW, programme
    )
    assert result.status is EnrolmentStatus.JOINED
    assert await enrolment_stage(member.id) is EnrolmentStage.JOINED
    assert result.welcome_points == programme.earning.welcome_bonus == 100
    card = result.card
    assert card.joined and card.tier_code == "taste" and card.tier_name_zh == "品鉴会员"
    assert card.balance == 100 and card.masked_phone == "138****5678"
    assert card.expiring_points == 100 and card.expiring_on == date(2027, 12, 31)
    stored = await Member.get(id=member.id)
    assert stored.phone == "13812345678"
    assert stored.consent_version == programme.consent.version and stored.consent_at == NOW
    assert stored.joined_at == NOW and stored.tier == "taste"
    assert stored_birthday(stored) == LunarBirthday(8, 15)

    later = NOW + timedelta(minutes=5)
    again = await complete_enrolment(member.id, "13900000000", None, later, programme)
    assert again.status is EnrolmentStatus.ALREADY_MEMBER and again.welcome_points == 0
    assert again.card.balance == 100 and again.card.masked_phone == "138****5678"
    entries = await LedgerEntry.filter(member_id=member.id)
    assert [(e.kind, e.ref, e.points) for e in entries] == [("bonus", f"welcome:{member.id}", 100)]


async def test_concurrent_confirmations_enrol_once(db: None, programme: Programme) -> None:
    member = await get_or_create_member("oDOUBLE", NOW)
    await record_consent(member.id, NOW, programme)
    results = await asyncio.gather(
        *(complete_enrolment(member.id, "13812345678", None, NOW, programme) for _ in range(5))
    )
    assert sorted(r.status for r in results).count(EnrolmentStatus.JOINED) == 1
    assert (await Member.get(id=member.id)).points_balance == 100


async def test_enrolment_refuses_a_bad_phone_and_writes_nothing(
    db: None, programme: Programme
) -> None:
    member = await get_or_create_member("oBADPHONE", NOW)
    await record_consent(member.id, NOW, programme)
    with pytest.raises(InvalidPhone):
        await complete_enrolment(member.id, "12345", None, NOW, programme)
    stored = await Member.get(id=member.id)
    assert stored.joined_at is None and stored.phone is None and stored.points_balance == 0


async def test_phone_and_birthday_can_be_changed(db: None, programme: Programme) -> None:
    member = await get_or_create_member("oCHANGE", NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", SolarBirthday(5, 20, 1988), NOW, programme)
    stored = await Member.get(id=member.id)
    assert stored.birthday_solar == date(1988, 5, 20) and stored.birthday_mmdd == 520
    assert await set_phone(member.id, "+86 139-0000-1111", NOW) == "139****1111"
    await set_birthday(member.id, LunarBirthday(4, 8, leap=True), NOW)
    stored = await Member.get(id=member.id)
    assert stored.phone == "13900001111"
    assert stored.birthday_solar is None and stored.birthday_mmdd is None
    assert (stored.birthday_lunar_month, stored.birthday_lunar_day) == (4, 8)
    assert stored.birthday_lunar_leap is True
    await set_birthday(member.id, SolarBirthday(2, 29), NOW)
    assert stored_birthday(await Member.get(id=member.id)) == SolarBirthday(2, 29)
    await set_birthday(member.id, None, NOW)
    assert stored_birthday(await Member.get(id=member.id)) is None


async def test_card_shows_spend_to_the_next_tier(db: None, programme: Programme) -> None:
    member = await get_or_create_member("oCARD", NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    for order, fen, returned, at in [
        ("o-1", 100_000, 0, NOW - timedelta(days=30)),
        ("o-2", 80_000, 30_000, NOW - timedelta(days=200)),
        ("o-old", 900_000, 0, NOW - timedelta(days=400)),
    ]:
        await Purchase.create(
            order_id=order, member_id=member.id, amount_fen=fen, returned_fen=returned,
            points_earned=0, balance_after=0, tier_before="taste", tier_after="taste",
            created_at=at,
        )  # fmt: skip
    card = await card_view(member.id, NOW, programme)
    assert card.qualifying_spend_fen == 150_000
    assert card.next_tier_code == "silver" and card.next_tier_name_zh == "银卡"
    assert card.spend_to_next_fen == 300_000 - 150_000
    await Member.filter(id=member.id).update(tier="black")
    top = await card_view(member.id, NOW, programme)
    assert top.tier_name_en == "Black Gold"
    assert top.next_tier_code is None and top.spend_to_next_fen is None


async def test_card_of_a_visitor_who_has_not_joined(db: None, programme: Programme) -> None:
    member = await get_or_create_member("oVISITOR", NOW)
    card = await card_view(member.id, NOW, programme)
    assert not card.joined and card.balance == 0 and card.masked_phone == ""
    with pytest.raises(MemberNotFound):
        await card_view(999_999, NOW, programme)
    with pytest.raises(MemberNotFound):
        await record_consent(999_999, NOW, programme)


async def test_card_balance_counts_debt_and_later_points(db: None, programme: Programme) -> None:
    member = await get_or_create_member("oBAL", NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    await points.credit(
        member.id, 50, kind=points.EntryKind.BONUS, ref="gift:1", reason="礼", now=NOW
    )
    card = await card_view(member.id, NOW, programme)
    assert card.balance == 150 and card.debt == 0
