"""Greetings, help and how a member is addressed, through `POST /wechat`."""

from __future__ import annotations

import pytest

from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from club.messaging.outbox import Outbox
from handlers.texts import t
from scheduler.jobs import JobContext, job_body
from tests.handlers.chat import Chat

GREETINGS = ["你好", "您好！", "hi", "Hello!", "👋", "😀😀", "👍🏽", "[微笑]", "在吗？", "早上好～"]


@pytest.mark.parametrize("greeting", GREETINGS)
async def test_a_greeting_from_a_newcomer_gets_the_welcome(chat: Chat, greeting: str) -> None:
    answer = await chat.say(greeting)
    english = greeting.casefold() in ("hi", "hello!")
    assert answer == t("welcome", "en" if english else "zh")


async def test_a_greeting_from_a_member_says_their_name_and_what_they_can_do(chat: Chat) -> None:
    await chat.join(name="王先生")
    assert await chat.say("你好") == "王先生，您好！\n" + t("help", "zh")
    assert await chat.say("🙂") == "王先生，您好！\n" + t("help", "zh")
    other = chat.as_member("oMember0002")
    await other.say("English")
    await other.join(phone="13912345678")
    assert await other.say("hello") == "Hello!\n" + t("help", "en")
    # Other text is still not understood.
    assert await chat.say("你好吗今天天气") == t("fallback", "zh")


async def test_help_lists_every_word_a_member_can_send(chat: Chat) -> None:
    help_zh = await chat.say("帮助")
    for word in ("入会", "积分", "等级", "明细", "兑换", "签到", "生日", "称呼", "我的数据",
                 "删除我的数据", "取消", "English"):  # fmt: skip
        assert f"\n{word} - " in help_zh, word
    await chat.say("English")
    help_en = await chat.say("help")
    for word in ("join", "points", "tier", "history", "redeem", "checkin", "birthday", "name",
                 "my data", "delete my data", "cancel", "中文"):  # fmt: skip
        assert f"\n{word} - " in help_en, word


async def test_a_member_names_themselves_later_and_birthdays_greet_by_name(chat: Chat) -> None:
    assert await chat.say("称呼") == t("join_first", "zh", bonus=100)
    await chat.join()
    assert await chat.say("称呼") == t("name_ask", "zh")
    no_letters = t("name_no_letters", "zh")
    assert await chat.say("12345") == t("name_expected", "zh", problem=no_letters)
    assert await chat.say("李女士") == t("name_saved", "zh", name="李女士")
    assert (await Member.get(openid=chat.openid)).name == "李女士"
    assert await chat.say("称呼") == t("name_current", "zh", name="李女士") + "\n" + t(
        "name_ask", "zh"
    )
    assert await chat.say("取消") == t("cancelled", "zh")
    assert await chat.say("称呼：老李") == t("name_saved", "zh", name="老李")
    await chat.say("English")
    assert await chat.say("my name is Li Lei") == t("name_saved", "en", name="Li Lei")
    assert (await Member.get(openid=chat.openid)).name == "Li Lei"

    # The birthday greeting calls the member by that name, in their language.
    await chat.say("birthday 11-23")
    context = JobContext(programme=chat.programme, clock=chat.clock, outbox=Outbox(chat.programme))
    await job_body("birthday", context)(chat.clock.now().date())
    [wish] = await OutboxMessage.filter(openid=chat.openid, kind="birthday")
    assert (
        wish.payload["text"] == "Happy birthday, Li Lei! Mellow Club sends you 50 birthday points."
    )
