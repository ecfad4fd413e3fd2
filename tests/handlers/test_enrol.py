"""The enrolment dialog end to end through `POST /wechat`."""

from __future__ import annotations

from datetime import date

import pytest

from bot import keys
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from handlers.texts import t
from tests.handlers.chat import Chat

PHONE_PROMPT = t("enrol_phone", "zh")
EXAMPLES_ZH = t("birthday_examples", "zh")
BIRTHDAY_PROMPT = t("enrol_birthday", "zh", examples=EXAMPLES_ZH)
NAME_PROMPT = t("enrol_name", "zh")
NOT_GIVEN = t("not_recorded", "zh")


def consent_prompt(chat: Chat, lang: str = "zh") -> str:
    consent = chat.programme.consent
    english = lang == "en"
    return t(
        "enrol_consent",
        "en" if english else "zh",
        club=chat.programme.name_en if english else chat.programme.name_zh,
        version=consent.version,
        consent=consent.text_en if english else consent.text_zh,
    )


async def member(chat: Chat) -> Member:
    return await Member.get(openid=chat.openid)


async def test_the_whole_dialog_with_a_wrong_answer_at_every_step(chat: Chat) -> None:
    first = await chat.say("入会")
    assert first == consent_prompt(chat)
    assert "2026-11" in first and chat.programme.consent.text_zh in first
    assert await chat.say("好吧我看看") == t("enrol_consent_expected", "zh")
    assert (await member(chat)).consent_at is None

    assert await chat.say("同意") == PHONE_PROMPT
    stored = await member(chat)
    assert stored.consent_at == chat.clock.now()
    assert stored.consent_version == "2026-11"

    assert await chat.say("12345") == t("phone_wrong_length", "zh")
    assert await chat.say("23812345678") == t("phone_not_mobile", "zh")
    assert await chat.say("我的手机") == t("phone_not_digits", "zh")
    assert await chat.say("+86 138-1234-5678") == BIRTHDAY_PROMPT

    unrecognised = t("birthday_unrecognised", "zh", examples=EXAMPLES_ZH)
    assert await chat.say("明天") == t("enrol_birthday_expected", "zh", problem=unrecognised)
    invalid = t("birthday_invalid_date", "zh", examples=EXAMPLES_ZH)
    assert await chat.say("2月30日") == t("enrol_birthday_expected", "zh", problem=invalid)
    future = t("birthday_future", "zh")
    assert await chat.say("2030-01-01") == t("enrol_birthday_expected", "zh", problem=future)

    assert await chat.say("农历八月十五") == NAME_PROMPT
    no_letters = t("name_no_letters", "zh")
    assert await chat.say("13812345678") == t("enrol_name_expected", "zh", problem=no_letters)
    too_long = t("name_too_long", "zh", max=20)
    assert await chat.say("王" * 21) == t("enrol_name_expected", "zh", problem=too_long)

    confirm = await chat.say("  王先生 ")
    assert confirm == t(
        "enrol_confirm", "zh", phone="138****5678", birthday="农历八月十五", name="王先生"
    )
    # Only what the prompt asks for confirms; anything else is told what to send.
    for other in ("等一下", "好", "yes", "ok"):
        assert await chat.say(other) == t("enrol_confirm_expected", "zh"), other
    stored = await member(chat)
    assert stored.phone is None and stored.joined_at is None  # nothing before the confirmation
    assert stored.name is None

    done = await chat.say("确认")
    assert done.startswith("入会成功！欢迎加入醇香会，送您 100 积分入会礼。")
    assert "等级：品鉴会员" in done and "积分：100" in done and "138****5678" in done
    stored = await member(chat)
    assert stored.phone == "13812345678"
    assert stored.name == "王先生"
    assert stored.joined_at == chat.clock.now()
    assert stored.tier == "taste"
    assert (stored.birthday_lunar_month, stored.birthday_lunar_day) == (8, 15)
    assert stored.birthday_lunar_leap is False and stored.birthday_mmdd is None
    assert stored.points_balance == 100
    entries = await LedgerEntry.filter(member_id=stored.id)
    assert [(e.points, e.reason) for e in entries] == [(100, "入会礼")]

    # Joined: `入会` says so and shows the card, and a stray `确认` is no longer a dialog step.
    card = await chat.say("入会")
    assert card.startswith(t("already_member", "zh") + "\n【醇香会会员卡】") and "会员号：" in card
    assert (await chat.say("join")).startswith(t("already_member", "zh"))
    assert await chat.say("确认") == t("fallback", "zh")
    assert await LedgerEntry.filter(member_id=stored.id).count() == 1


async def test_the_dialog_in_english_with_a_leap_month(chat: Chat) -> None:
    assert await chat.say("join") == consent_prompt(chat, "en")
    assert await chat.say("maybe") == t("enrol_consent_expected", "en")
    assert await chat.say("yes") == t("enrol_consent_expected", "en")  # the prompt says "agree"
    assert await chat.say("Agree") == t("enrol_phone", "en")
    assert await chat.say("phone") == t("phone_not_digits", "en")
    examples = t("birthday_examples", "en")
    # The member's language is English: a bare number, or Chinese words, are answered in it.
    assert await chat.say("13912345678") == t("enrol_birthday", "en", examples=examples)
    unrecognised = t("birthday_unrecognised", "en", examples=examples)
    assert await chat.say("someday") == t("enrol_birthday_expected", "en", problem=unrecognised)
    assert await chat.say("lunar leap 4-8") == t("enrol_name", "en")
    confirm = await chat.say("跳过")
    assert confirm == t(
        "enrol_confirm", "en", phone="139****5678", birthday="lunar leap 4-8", name="not recorded"
    )
    assert await chat.say("ok") == t("enrol_confirm_expected", "en")
    done = await chat.say("confirm")
    assert done.startswith("You have joined Mellow Club! Here are your 100 welcome points.")
    assert "Tier: Taster" in done
    stored = await member(chat)
    assert (stored.birthday_lunar_month, stored.birthday_lunar_day) == (4, 8)
    assert stored.birthday_lunar_leap is True


@pytest.mark.parametrize(
    ("typed", "shown", "solar", "mmdd", "lunar"),
    [
        ("1988-05-20", "1988年5月20日", date(1988, 5, 20), 520, None),
        ("5月20日", "5月20日", None, 520, None),
        ("农历八月十五", "农历八月十五", None, None, (8, 15, False)),
        ("lunar 8-15", "农历八月十五", None, None, (8, 15, False)),
        ("农历闰四月初八", "农历闰四月初八", None, None, (4, 8, True)),
        ("农历腊月廿三", "农历腊月廿三", None, None, (12, 23, False)),
        ("跳过", "未登记", None, None, None),
        ("skip", "未登记", None, None, None),
    ],
)
async def test_every_accepted_birthday_form(
    chat: Chat,
    typed: str,
    shown: str,
    solar: date | None,
    mmdd: int | None,
    lunar: tuple[int, int, bool] | None,
) -> None:
    await chat.say("入会")
    await chat.say("同意")
    await chat.say("13812345678")
    assert await chat.say(typed) == NAME_PROMPT  # in the member's language, whatever was typed
    confirm = await chat.say("skip")
    assert confirm == t("enrol_confirm", "zh", phone="138****5678", birthday=shown, name=NOT_GIVEN)
    await chat.say("确认")
    stored = await member(chat)
    assert stored.joined_at is not None
    assert (stored.birthday_solar, stored.birthday_mmdd) == (solar, mmdd)
    got_lunar = (
        (stored.birthday_lunar_month, stored.birthday_lunar_day, stored.birthday_lunar_leap)
        if stored.birthday_lunar_month is not None
        else None
    )
    assert got_lunar == lunar


@pytest.mark.parametrize("steps_before_cancel", [1, 2, 3, 4, 5])
async def test_cancel_at_any_step_stores_nothing_personal(
    chat: Chat, steps_before_cancel: int
) -> None:
    for answer in ["入会", "同意", "13812345678", "5月20日", "王先生"][:steps_before_cancel]:
        await chat.say(answer)
    assert await chat.say("取消") == t("cancelled", "zh")
    stored = await member(chat)
    assert stored.joined_at is None and stored.phone is None and stored.birthday_mmdd is None
    assert stored.name is None and stored.points_balance == 0
    # A cancelled dialog does not resume: `入会` starts again at consent.
    assert await chat.say("入会") == consent_prompt(chat)
    assert await chat.say("cancel") == t("cancelled", "zh")
    assert await chat.say("取消") == t("nothing_to_cancel", "zh")


async def test_join_again_resumes_within_the_expiry_and_starts_over_after_it(chat: Chat) -> None:
    await chat.say("入会")
    await chat.say("同意")
    await chat.say("13812345678")
    chat.later(minutes=20)
    assert await chat.say("入会") == t("enrol_resume", "zh", prompt=BIRTHDAY_PROMPT)
    chat.later(minutes=20)  # 20 minutes after the last step: still within the 30 minutes
    assert await chat.say("5月20日") == NAME_PROMPT
    confirm = await chat.say("跳过")
    assert confirm == t(
        "enrol_confirm", "zh", phone="138****5678", birthday="5月20日", name=NOT_GIVEN
    )
    chat.later(minutes=31)
    # Too late: nothing is joined, and the dialog starts again.
    restart = await chat.say("确认")
    assert restart == t("enrol_restart", "zh", prompt=consent_prompt(chat))
    stored = await member(chat)
    assert stored.joined_at is None and stored.phone is None
    assert await chat.say("同意") == PHONE_PROMPT


async def test_a_dialog_the_store_has_expired_starts_over(chat: Chat) -> None:
    await chat.say("入会")
    await chat.say("同意")
    await chat.store.delete(keys.state(chat.openid))  # what the store's expiry does
    assert await chat.say("13812345678") == t("fallback", "zh")
    assert await chat.say("入会") == consent_prompt(chat)


async def test_a_wechat_retry_in_the_middle_does_not_advance_the_dialog_twice(chat: Chat) -> None:
    await chat.say("入会")
    await chat.say("同意")
    phone = chat.text_body("13812345678", msg_id=24_571_999_000_001)
    first = await chat.post(phone)
    assert chat.content(first) == BIRTHDAY_PROMPT
    assert await chat.post(phone) == first  # WeChat's retry: the same answer, no second step
    assert await chat.say("1988-05-20") == NAME_PROMPT
    confirm = await chat.say("Lily")
    assert confirm == t(
        "enrol_confirm", "zh", phone="138****5678", birthday="1988年5月20日", name="Lily"
    )

    accept = chat.text_body("确认", msg_id=24_571_999_000_002)
    done = await chat.post(accept)
    assert "入会成功" in chat.content(done)
    assert await chat.post(accept) == done
    stored = await member(chat)
    assert await LedgerEntry.filter(member_id=stored.id).count() == 1
    assert stored.points_balance == 100


async def test_other_words_inside_the_dialog_get_what_the_step_expects(chat: Chat) -> None:
    await chat.say("入会")
    await chat.say("同意")
    assert await chat.say("积分") == t("phone_not_digits", "zh")
    assert await chat.click("POINTS") == t("join_first", "zh", bonus=100)  # menus still work
    assert await chat.say("13812345678") == BIRTHDAY_PROMPT
