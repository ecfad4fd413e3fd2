"""Bottle codes typed as text and scanned with the menu's scan button."""

from __future__ import annotations

from club.codes.bottle import generate_batch
from club.codes.codegen import ALPHABET, format_code, random_code
from club.db.models.catalog import BottleCode
from club.db.models.members import Member
from handlers.texts import t
from tests.handlers.chat import Chat


async def batch(chat: Chat, count: int, points: int = 20) -> list[str]:
    made = await generate_batch(count, points, f"cap-{count}", chat.clock.now())
    return list(made.codes)


def mistype(code: str) -> str:
    """One symbol changed: the check character catches every such typo."""
    first = code[0]
    other = next(s for s in ALPHABET if s != first)
    return other + code[1:]


async def test_a_code_as_text_earns_once(chat: Chat) -> None:
    # One with a digit: in lower case with spaces, a code without one reads as English words and
    # is not taken for a code (about 3% of random codes).
    code = next(c for c in await batch(chat, 8) if any(ch.isdigit() for ch in c))
    await chat.join()
    assert await chat.say(code) == t("code_earned", "zh", points=20, balance=120)
    assert await chat.say(code.lower().replace("-", " ")) == t("code_used_by_you", "zh", points=20)
    other = chat.as_member("oMember0002")
    await other.join(phone="13912345678")
    assert await other.say(code) == t("code_used_by_other", "zh")
    member = await Member.get(openid=chat.openid)
    assert member.points_balance == 120
    assert (await BottleCode.get(code=code.replace("-", ""))).used_by_id == member.id


async def test_mistyped_and_unknown_codes(chat: Chat) -> None:
    code, *_ = await batch(chat, 1)
    await chat.join()
    typo = mistype(code.replace("-", ""))
    assert await chat.say(typo) == t("code_mistyped", "zh", code=format_code(typo))
    never_issued = random_code()
    assert await chat.say(format_code(never_issued)) == t("code_unknown", "zh")
    assert (await Member.get(openid=chat.openid)).points_balance == 100


async def test_the_scan_button(chat: Chat) -> None:
    first, second, *_ = await batch(chat, 3)
    assert await chat.scan(first) == t("join_first", "zh", bonus=100)
    await chat.join()
    assert await chat.scan(first) == t("code_earned", "zh", points=20, balance=120)
    assert await chat.scan(first) == t("code_used_by_you", "zh", points=20)
    url = f"https://club.example.com/c?code={second.replace('-', '')}"
    assert await chat.scan(url) == t("code_earned", "zh", points=20, balance=140)
    assert await chat.scan("K7P2-9QX4-M3") == t("code_not_ours", "zh")


async def test_the_hourly_limit_refuses_and_flags(chat: Chat) -> None:
    codes = await batch(chat, 11, points=1)
    await chat.join()
    for n, code in enumerate(codes[:10], start=1):
        assert await chat.say(code) == t("code_earned", "zh", points=1, balance=100 + n)
    assert await chat.say(codes[10]) == t("code_limit", "zh", limit=10)
    member = await Member.get(openid=chat.openid)
    assert member.flagged_for_review is True
    assert member.points_balance == 110
    chat.later(hours=1, minutes=1)
    assert await chat.say(codes[10]) == t("code_earned", "zh", points=1, balance=111)


async def test_ordinary_sentences_are_not_taken_for_codes(chat: Chat) -> None:
    await chat.say("English")
    await chat.join()
    for sentence in ("where is it now", "how do I join", "show me everything"):
        assert await chat.say(sentence) == t("fallback", "en"), sentence
