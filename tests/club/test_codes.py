"""Bottle codes: batches, one award per code ever, distinct outcomes, limits that flag."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.codes.bottle import CodeBatchError, CodeStatus, generate_batch, redeem_code
from club.codes.codegen import ALPHABET, BOTTLE_CODE_LENGTH, normalise, random_code
from club.db.models.catalog import BottleCode, CodeBatch
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.members.enrolment import complete_enrolment, get_or_create_member, record_consent
from club.programme import BottleCodeLimits, Programme, load_programme

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def join(openid: str, programme: Programme) -> int:
    member = await get_or_create_member(openid, NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    return int(member.id)


async def test_batch_codes_are_unique_valid_and_stored(db: None) -> None:
    batch = await generate_batch(300, 20, "2026-11 高粱 500ml", NOW)
    assert batch.created and batch.points == 20 and len(batch.codes) == 300
    normalised = {normalise(c) for c in batch.codes}
    assert len(normalised) == 300
    assert all(len(c) == BOTTLE_CODE_LENGTH for c in normalised)
    assert all(c.count("-") == 2 for c in batch.codes)
    stored = await BottleCode.filter(batch_id=batch.batch_id)
    assert {row.code for row in stored} == normalised


async def test_repeating_a_batch_request_returns_the_first_batch(db: None) -> None:
    first = await generate_batch(5, 10, "batch-A", NOW)
    again = await generate_batch(5, 10, "batch-A", NOW + timedelta(minutes=1))
    assert not again.created and set(again.codes) == set(first.codes)
    assert await CodeBatch.all().count() == 1 and await BottleCode.all().count() == 5
    with pytest.raises(CodeBatchError, match="other values"):
        await generate_batch(6, 10, "batch-A", NOW)


@pytest.mark.parametrize(
    ("count", "points", "name"), [(0, 10, "x"), (100_001, 10, "x"), (5, 0, "x"), (5, 10, "  ")]
)
async def test_bad_batch_requests_write_nothing(
    db: None, count: int, points: int, name: str
) -> None:
    with pytest.raises(CodeBatchError):
        await generate_batch(count, points, name, NOW)
    assert await CodeBatch.all().count() == 0


async def test_a_code_earns_once_and_outcomes_are_distinct(db: None, programme: Programme) -> None:
    alice = await join("oALICE", programme)
    bob = await join("oBOB", programme)
    code = (await generate_batch(1, 30, "b1", NOW)).codes[0]

    earned = await redeem_code(alice, f"  {code.lower()}  ", NOW, programme)
    assert earned.status is CodeStatus.EARNED
    assert earned.points == 30 and earned.balance == 130
    assert earned.code == normalise(code)

    mine = await redeem_code(alice, code.replace("-", " "), NOW, programme)
    assert mine.status is CodeStatus.USED_BY_YOU and mine.points == 30
    theirs = await redeem_code(bob, code, NOW, programme)
    assert theirs.status is CodeStatus.USED_BY_OTHER and theirs.points == 0

    raw = normalise(code)
    wrong = next(s for s in ALPHABET if s != raw[4])
    typo = await redeem_code(bob, raw[:4] + wrong + raw[5:], NOW, programme)
    assert typo.status is CodeStatus.MISTYPED
    swapped = raw[:-2] + raw[-1] + raw[-2]
    if swapped != raw:
        assert (await redeem_code(bob, swapped, NOW, programme)).status is CodeStatus.MISTYPED

    never_issued = random_code()
    unknown = await redeem_code(bob, never_issued, NOW, programme)
    assert unknown.status is CodeStatus.UNKNOWN
    assert (await redeem_code(bob, "积分", NOW, programme)).status is CodeStatus.NOT_A_CODE

    assert (await Member.get(id=alice)).points_balance == 130
    assert (await Member.get(id=bob)).points_balance == 100
    entries = await LedgerEntry.filter(ref=f"bottle:{raw}")
    assert [(e.member_id, e.points) for e in entries] == [(alice, 30)]


async def test_visitors_who_have_not_joined_do_not_collect(db: None, programme: Programme) -> None:
    visitor = await get_or_create_member("oVISIT", NOW)
    code = (await generate_batch(1, 30, "b2", NOW)).codes[0]
    outcome = await redeem_code(visitor.id, code, NOW, programme)
    assert outcome.status is CodeStatus.NOT_A_MEMBER
    nobody = await redeem_code(987_654, code, NOW, programme)
    assert nobody.status is CodeStatus.NOT_A_MEMBER
    assert await BottleCode.filter(used_by_id__isnull=False).count() == 0


def limited(programme: Programme, per_hour: int, per_day: int) -> Programme:
    from dataclasses import replace

    return replace(programme, bottle_codes=BottleCodeLimits(per_hour=per_hour, per_day=per_day))


async def test_hourly_limit_refuses_and_flags(db: None, programme: Programme) -> None:
    rules = limited(programme, per_hour=3, per_day=10)
    member = await join("oFARM", rules)
    codes = (await generate_batch(5, 5, "b3", NOW)).codes
    for i, code in enumerate(codes[:3]):
        at = NOW + timedelta(minutes=i)
        assert (await redeem_code(member, code, at, rules)).status is CodeStatus.EARNED
    refused = await redeem_code(member, codes[3], NOW + timedelta(minutes=5), rules)
    assert refused.status is CodeStatus.LIMIT_REACHED and refused.limit == 3
    stored = await Member.get(id=member)
    assert stored.flagged_for_review and "hour" in (stored.flag_reason or "")
    assert stored.points_balance == 100 + 15
    assert await BottleCode.filter(used_by_id=member).count() == 3
    # An hour after the first scan the window has room again; the code was not burnt.
    later = NOW + timedelta(minutes=61)
    assert (await redeem_code(member, codes[3], later, rules)).status is CodeStatus.EARNED


async def test_daily_limit_counts_the_club_day(db: None, programme: Programme) -> None:
    rules = limited(programme, per_hour=100, per_day=2)
    member = await join("oDAY", rules)
    codes = (await generate_batch(4, 5, "b4", NOW)).codes
    morning = datetime(2026, 11, 23, 1, 0, tzinfo=TZ)
    assert (await redeem_code(member, codes[0], morning, rules)).status is CodeStatus.EARNED
    evening = datetime(2026, 11, 23, 23, 30, tzinfo=TZ)
    assert (await redeem_code(member, codes[1], evening, rules)).status is CodeStatus.EARNED
    over = await redeem_code(member, codes[2], evening + timedelta(minutes=1), rules)
    assert over.status is CodeStatus.LIMIT_REACHED and over.limit == 2
    assert "day" in ((await Member.get(id=member)).flag_reason or "")
    next_day = datetime(2026, 11, 24, 0, 5, tzinfo=TZ)
    assert (await redeem_code(member, codes[2], next_day, rules)).status is CodeStatus.EARNED


async def test_concurrent_scans_by_one_member_respect_the_limit(
    db: None, programme: Programme
) -> None:
    rules = limited(programme, per_hour=3, per_day=30)
    member = await join("oBURST", rules)
    codes = (await generate_batch(8, 1, "b5", NOW)).codes
    outcomes = await asyncio.gather(*(redeem_code(member, c, NOW, rules) for c in codes))
    statuses = [o.status for o in outcomes]
    assert statuses.count(CodeStatus.EARNED) == 3
    assert statuses.count(CodeStatus.LIMIT_REACHED) == 5
    assert (await Member.get(id=member)).points_balance == 103
