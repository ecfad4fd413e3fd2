"""A member's language is theirs: set by their first message that shows one, changed by sending
`English` / `中文`, and used for every answer, push and ledger reason whatever a message looks
like (a bottle code is letters and digits, in no language)."""

from __future__ import annotations

from club.codes.bottle import generate_batch
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from club.points import ledger as points
from club.rules.kinds import EntryKind
from handlers.texts import t
from tests.bot.test_staff_api_support import staff_headers
from tests.handlers.chat import Chat


async def member(chat: Chat) -> Member:
    return await Member.get(openid=chat.openid)


async def test_a_chinese_member_typing_a_code_is_answered_in_chinese(chat: Chat) -> None:
    # Codes with a digit: typed in lower case with spaces, a code without one reads as three
    # English words and is rightly not taken for a code (handlers/codes.py); about 3% of random
    # codes have no digit, which made this test fail now and then.
    batch = (await generate_batch(10, 20, "lang", chat.clock.now())).codes
    first, second, third = [c for c in batch if any(ch.isdigit() for ch in c)][:3]
    await chat.join()
    assert await chat.say(first) == t("code_earned", "zh", points=20, balance=120)
    assert await chat.say(second.lower().replace("-", " ")) == t(
        "code_earned", "zh", points=20, balance=140
    )
    assert await chat.say(f"  {third}  ") == t("code_earned", "zh", points=20, balance=160)
    assert await chat.say(first) == t("code_used_by_you", "zh", points=20)
    # English words from a Chinese member are answered in Chinese too: the language is theirs.
    assert (await chat.say("points")).startswith("积分余额：160")


async def test_the_first_message_that_shows_a_language_sets_it(chat: Chat) -> None:
    assert await chat.follow() == t("welcome", "zh")  # an event says nothing about language
    assert (await member(chat)).language_set_at is None
    assert await chat.say("K7P2-9QX4-M3AB") == t("join_first", "zh", bonus=100)
    assert await chat.say("13812345678") == t("fallback", "zh")
    assert (await member(chat)).language_set_at is None
    assert await chat.say("points") == t("join_first", "en", bonus=100)
    stored = await member(chat)
    assert (stored.language, stored.language_set_at) == ("en", chat.clock.now())
    # From now on the member's language wins over what a message looks like.
    assert await chat.say("积分") == t("join_first", "en", bonus=100)
    assert await chat.say("K7P2-9QX4-M3AB") == t("join_first", "en", bonus=100)


async def test_english_and_chinese_switch_and_are_answered_in_the_new_language(
    chat: Chat,
) -> None:
    await chat.join()
    assert (await member(chat)).language == "zh"
    assert await chat.say("English") == t("language_set", "en")
    assert (await member(chat)).language == "en"
    assert (await chat.say("积分")).startswith("Points: 100\nTier: Taster")
    assert await chat.say("中文") == t("language_set", "zh")
    assert (await chat.say("points")).startswith("积分余额：100")
    assert await chat.say("ＥＮＧＬＩＳＨ") == t("language_set", "en")
    assert await chat.say("英文") == t("language_set", "en")
    assert (await member(chat)).language == "en"


async def test_a_switch_inside_a_dialog_keeps_the_dialog(chat: Chat) -> None:
    await chat.say("入会")
    await chat.say("同意")
    assert await chat.say("English") == (
        t("language_set", "en") + "\n" + t("language_dialog_goes_on", "en")
    )
    examples = t("birthday_examples", "en")
    assert await chat.say("13812345678") == t("enrol_birthday", "en", examples=examples)


async def test_history_reads_in_the_members_language(chat: Chat) -> None:
    (code,) = (await generate_batch(1, 20, "history", chat.clock.now())).codes
    await chat.join()
    await chat.say(code)
    await chat.say("签到")
    stored = await member(chat)
    # Gift reasons were once written in English: old rows read as well as new ones.
    for ref, reason in (
        ("old:1", "birthday gift 2025"),
        ("old:2", "Mid-Autumn Festival gift 2025"),
        ("new:1", "中秋礼 2026"),
        ("staff:1", "补发活动积分"),
    ):
        await points.credit(
            stored.id, 5, kind=EntryKind.BONUS, ref=ref, reason=reason, now=chat.clock.now()
        )
    assert (await chat.say("明细")).split("\n")[1:] == [
        "2026年11月23日 +5 补发活动积分",
        "2026年11月23日 +5 中秋礼 2026",
        "2026年11月23日 +5 中秋礼 2025",
        "2026年11月23日 +5 生日礼 2025",
        "2026年11月23日 +2 签到 连续1天",
        f"2026年11月23日 +20 瓶盖码 {code}",
        "2026年11月23日 +100 入会礼",
    ]
    await chat.say("English")
    assert (await chat.say("history")).split("\n")[1:] == [
        "2026-11-23 +5 补发活动积分",  # typed by staff: shown as typed
        "2026-11-23 +5 Mid-Autumn Festival gift 2026",
        "2026-11-23 +5 Mid-Autumn Festival gift 2025",
        "2026-11-23 +5 Birthday gift 2025",
        "2026-11-23 +2 Check-in, 1 day in a row",
        f"2026-11-23 +20 Bottle code {code}",
        "2026-11-23 +100 Welcome bonus",
    ]


async def test_what_the_club_sends_is_in_the_members_language(chat: Chat) -> None:
    await chat.join()
    await chat.say("English")
    stored = await member(chat)
    headers = await staff_headers()
    body = {"member_id": stored.id, "order_id": "L-1", "amount_fen": 100}
    resp = await chat.client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
    assert resp.status == 200, await resp.text()
    [message] = await OutboxMessage.filter(member_id=stored.id, kind="points_change")
    assert message.payload["text"] == (
        "Thank you for your purchase of 1 yuan: 1 point earned, 101 in all."
    )
    assert (await chat.say("history")).split("\n")[1] == "2026-11-23 +1 Purchase L-1"
