"""Failed bottle-code attempts count: past the hourly or daily limit every code waits, flagged."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.codes.bottle import CodeStatus, generate_batch, redeem_code
from club.codes.codegen import ALPHABET, normalise, random_code
from club.db.models.catalog import BottleCode, FailedCodeAttempt
from club.db.models.members import Member
from club.members.enrolment import complete_enrolment, get_or_create_member, record_consent
from club.programme import BottleCodeLimits, Programme, load_programme

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def rules() -> Programme:
    demo = load_programme(None)
    limits = BottleCodeLimits(per_hour=10, per_day=30, failed_per_hour=3, failed_per_day=5)
    return replace(demo, bottle_codes=limits)


async def join(openid: str, programme: Programme) -> int:
    member = await get_or_create_member(openid, NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    return int(member.id)


def mistype(code: str) -> str:
    raw = normalise(code)
    return next(s for s in ALPHABET if s != raw[0]) + raw[1:]


async def test_failed_attempts_pause_every_code_and_flag(db: None, rules: Programme) -> None:
    member = await join("oGUESS", rules)
    other = await join("oOTHER", rules)
    theirs, valid = (await generate_batch(2, 25, "f1", NOW)).codes
    assert (await redeem_code(other, theirs, NOW, rules)).status is CodeStatus.EARNED

    tries = [(mistype(valid), CodeStatus.MISTYPED), (random_code(), CodeStatus.UNKNOWN)]
    tries.append((theirs, CodeStatus.USED_BY_OTHER))
    for minute, (text, status) in enumerate(tries):
        at = NOW + timedelta(minutes=minute)
        assert (await redeem_code(member, text, at, rules)).status is status

    paused = await redeem_code(member, valid, NOW + timedelta(minutes=10), rules)
    assert paused.status is CodeStatus.TOO_MANY_FAILED and paused.limit == 3
    assert not paused.per_day
    # Codes come back an hour after the oldest failure that counts (10:00).
    assert paused.retry_at == datetime(2026, 11, 23, 11, 0, tzinfo=TZ)
    stored = await Member.get(id=member)
    assert stored.flagged_for_review
    assert stored.flag_reason == "bottle codes: 3 failed attempts in an hour"
    assert stored.points_balance == 100
    assert (await BottleCode.get(code=normalise(valid))).used_by_id is None
    # Refused attempts are not counted: the pause ends on time.
    assert await FailedCodeAttempt.filter(member_id=member).count() == 3
    still = await redeem_code(member, valid, NOW + timedelta(minutes=59, seconds=59), rules)
    assert still.status is CodeStatus.TOO_MANY_FAILED

    earned = await redeem_code(member, valid, NOW + timedelta(hours=1), rules)
    assert earned.status is CodeStatus.EARNED and earned.balance == 125


async def test_under_the_limit_a_typo_is_a_typo_and_a_valid_code_earns(
    db: None, rules: Programme
) -> None:
    member = await join("oCLUMSY", rules)
    first, second = (await generate_batch(2, 10, "f2", NOW)).codes
    assert (await redeem_code(member, random_code(), NOW, rules)).status is CodeStatus.UNKNOWN
    typo = await redeem_code(member, mistype(first), NOW, rules)
    assert typo.status is CodeStatus.MISTYPED and typo.code == mistype(first)
    assert (await redeem_code(member, first, NOW, rules)).status is CodeStatus.EARNED
    # Sending one's own code again and text that is no code are not failures.
    for _ in range(5):
        assert (await redeem_code(member, first, NOW, rules)).status is CodeStatus.USED_BY_YOU
        assert (await redeem_code(member, "积分", NOW, rules)).status is CodeStatus.NOT_A_CODE
    assert (await redeem_code(member, second, NOW, rules)).status is CodeStatus.EARNED
    assert not (await Member.get(id=member)).flagged_for_review
    assert await FailedCodeAttempt.filter(member_id=member).count() == 2


async def test_the_daily_limit_pauses_until_midnight(db: None, rules: Programme) -> None:
    member = await join("oSLOW", rules)
    (valid,) = (await generate_batch(1, 10, "f3", NOW)).codes
    # Five failures two hours apart: never three in an hour, five in the club day.
    for n in range(5):
        at = datetime(2026, 11, 23, 8 + 2 * n, 30, tzinfo=TZ)
        assert (await redeem_code(member, random_code(), at, rules)).status is CodeStatus.UNKNOWN
    late = datetime(2026, 11, 23, 23, 50, tzinfo=TZ)
    paused = await redeem_code(member, valid, late, rules)
    assert paused.status is CodeStatus.TOO_MANY_FAILED and paused.per_day
    assert paused.limit == 5 and paused.retry_at == datetime(2026, 11, 24, 0, 0, tzinfo=TZ)
    assert (await Member.get(id=member)).flag_reason == "bottle codes: 5 failed attempts in a day"
    typo = await redeem_code(member, mistype(valid), late, rules)
    assert typo.status is CodeStatus.TOO_MANY_FAILED
    next_day = datetime(2026, 11, 24, 0, 1, tzinfo=TZ)
    assert (await redeem_code(member, valid, next_day, rules)).status is CodeStatus.EARNED


async def test_the_hour_reaches_back_across_midnight(db: None, rules: Programme) -> None:
    member = await join("oNIGHT", rules)
    (valid,) = (await generate_batch(1, 10, "f4", NOW)).codes
    for minute in (40, 45, 50):
        at = datetime(2026, 11, 23, 23, minute, tzinfo=TZ)
        assert (await redeem_code(member, random_code(), at, rules)).status is CodeStatus.UNKNOWN
    just_after = datetime(2026, 11, 24, 0, 10, tzinfo=TZ)
    paused = await redeem_code(member, valid, just_after, rules)
    assert paused.status is CodeStatus.TOO_MANY_FAILED and not paused.per_day
    assert paused.retry_at == datetime(2026, 11, 24, 0, 40, tzinfo=TZ)


async def test_visitors_leave_no_failed_attempts(db: None, rules: Programme) -> None:
    visitor = await get_or_create_member("oVISIT", NOW)
    (valid,) = (await generate_batch(1, 10, "f5", NOW)).codes
    for text in (mistype(valid), random_code()):
        outcome = await redeem_code(visitor.id, text, NOW, rules)
        assert outcome.status is CodeStatus.NOT_A_MEMBER
    assert await FailedCodeAttempt.all().count() == 0


async def test_attempts_too_old_to_count_are_deleted(db: None, rules: Programme) -> None:
    member = await join("oOLD", rules)
    other = await join("oOTHER2", rules)
    week_ago = NOW - timedelta(days=7)
    await FailedCodeAttempt.create(member_id=member, at=week_ago, outcome="unknown")
    await FailedCodeAttempt.create(member_id=other, at=week_ago, outcome="unknown")
    await FailedCodeAttempt.create(member_id=member, at=NOW - timedelta(hours=3), outcome="unknown")
    assert (await redeem_code(member, random_code(), NOW, rules)).status is CodeStatus.UNKNOWN
    left = await FailedCodeAttempt.all().order_by("at").values_list("member_id", "at")
    assert left == [
        (other, week_ago),
        (member, NOW - timedelta(hours=3)),
        (member, NOW),
    ]


async def test_concurrent_guesses_by_one_member_respect_the_limit(
    db: None, rules: Programme
) -> None:
    member = await join("oBURST", rules)
    guesses = [random_code() for _ in range(7)]
    outcomes = await asyncio.gather(*(redeem_code(member, g, NOW, rules) for g in guesses))
    statuses = [o.status for o in outcomes]
    assert statuses.count(CodeStatus.UNKNOWN) == 3
    assert statuses.count(CodeStatus.TOO_MANY_FAILED) == 4
    assert await FailedCodeAttempt.filter(member_id=member).count() == 3
