"""Guessing bottle codes through POST /wechat: failed attempts count, typed or scanned.

The demo programme allows 5 failed attempts in an hour and 10 in a club day.
"""

from __future__ import annotations

from club.codes.bottle import generate_batch
from club.codes.codegen import ALPHABET, format_code, random_code
from club.db.models.members import Member
from handlers.texts import t
from tests.handlers.chat import Chat


async def batch(chat: Chat, count: int, points: int = 20) -> list[str]:
    made = await generate_batch(count, points, f"guard-{count}", chat.clock.now())
    return list(made.codes)


def mistype(code: str) -> str:
    raw = code.replace("-", "")
    return next(s for s in ALPHABET if s != raw[0]) + raw[1:]


async def test_wrong_codes_then_a_valid_one_is_refused_and_flagged(chat: Chat) -> None:
    valid, theirs = await batch(chat, 2)
    other = chat.as_member("oMember0002")
    await other.join(phone="13912345678")
    assert await other.say(theirs) == t("code_earned", "zh", points=20, balance=120)
    await chat.join()
    chat.later(seconds=30)  # failures from 10:00:30: codes are back at 11:00:30, told as 11:01

    assert await chat.say(mistype(valid)) == t(
        "code_mistyped", "zh", code=format_code(mistype(valid))
    )
    assert await chat.say(theirs) == t("code_used_by_other", "zh")
    for _ in range(3):
        assert await chat.say(format_code(random_code())) == t("code_unknown", "zh")
    member = await Member.get(openid=chat.openid)
    assert not member.flagged_for_review

    paused = t("code_paused_hour", "zh", limit=5, time="11:01")
    chat.later(minutes=20)
    assert await chat.say(valid) == paused
    member = await Member.get(openid=chat.openid)
    assert member.flagged_for_review
    assert member.flag_reason == "bottle codes: 5 failed attempts in an hour"
    assert member.points_balance == 100
    # A typo now meets the pause too, not another "mistyped".
    assert await chat.say(mistype(valid)) == paused

    chat.later(minutes=40)  # 11:00:30
    assert await chat.say(valid) == t("code_earned", "zh", points=20, balance=120)


async def test_under_the_limit_typos_are_told_and_valid_codes_earn(chat: Chat) -> None:
    first, second = await batch(chat, 2)
    await chat.join()
    for _ in range(2):
        assert await chat.say(format_code(random_code())) == t("code_unknown", "zh")
    for code in (first, second):
        assert await chat.say(mistype(code)) == t(
            "code_mistyped", "zh", code=format_code(mistype(code))
        )
    assert await chat.say(first) == t("code_earned", "zh", points=20, balance=120)
    assert await chat.say(first) == t("code_used_by_you", "zh", points=20)
    assert await chat.say(second) == t("code_earned", "zh", points=20, balance=140)
    assert not (await Member.get(openid=chat.openid)).flagged_for_review


async def test_scanned_codes_count_too(chat: Chat) -> None:
    (valid,) = await batch(chat, 1)
    await chat.join()
    for _ in range(4):
        url = f"https://club.example.com/c?code={random_code()}"
        assert await chat.scan(url) == t("code_unknown", "zh")
    assert await chat.scan(mistype(valid)) == t(
        "code_mistyped", "zh", code=format_code(mistype(valid))
    )
    assert await chat.scan(valid) == t("code_paused_hour", "zh", limit=5, time="11:00")
    assert (await Member.get(openid=chat.openid)).flagged_for_review


async def test_the_daily_limit_pauses_until_tomorrow(chat: Chat) -> None:
    (valid,) = await batch(chat, 1)
    await chat.say("English")  # a member who reads English reads these in English
    await chat.join()
    for _ in range(2):
        for _ in range(5):
            assert await chat.say(format_code(random_code())) == t("code_unknown", "en")
        chat.later(hours=1, minutes=1)
    assert await chat.say(valid) == t("code_paused_day", "en", limit=10)
    member = await Member.get(openid=chat.openid)
    assert member.flag_reason == "bottle codes: 10 failed attempts in a day"
    chat.later(hours=12)  # 10:00 + 2h02m + 12h: past midnight
    assert await chat.say(valid) == t("code_earned", "en", points=20, balance=120)
