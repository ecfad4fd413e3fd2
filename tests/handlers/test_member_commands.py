"""Points, history, card, tiers, check-in and birthday through `POST /wechat`."""

from __future__ import annotations

import pytest

from club.db.models.members import Member
from club.points import ledger as points
from club.rules.kinds import EntryKind
from club.sales.purchases import record_purchase
from handlers.texts import t
from tests.handlers.chat import Chat

JOIN_FIRST = t("join_first", "zh", bonus=100)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("say", "积分"),
        ("say", "明细"),
        ("say", "签到"),
        ("say", "兑换"),
        ("say", "生日"),
        ("say", "生日 5月20日"),
        ("click", "POINTS"),
        ("click", "CARD"),
        ("click", "REDEEM"),
        ("click", "CHECKIN"),
        ("say", "K7P2-9QX4-M3AB"),
    ],
)
async def test_members_only_features_invite_to_join(chat: Chat, kind: str, value: str) -> None:
    answer = await (chat.say(value) if kind == "say" else chat.click(value))
    assert answer == JOIN_FIRST  # a code shows no language: Chinese, the default
    assert (await Member.get(openid=chat.openid)).points_balance == 0


async def test_english_invitation(chat: Chat) -> None:
    assert await chat.say("points") == t("join_first", "en", bonus=100)


async def test_points_show_balance_tier_spend_to_next_tier_and_expiry(chat: Chat) -> None:
    await chat.join()
    assert await chat.say("积分") == (
        "积分余额：100\n会员等级：品鉴会员\n再消费 ¥3000 即可升级为银卡。\n"
        "100 积分将于 2027年12月31日 到期，请尽快使用。"
    )
    member = await Member.get(openid=chat.openid)
    await record_purchase(
        order_id="T-1", amount_fen=123_450, now=chat.clock.now(), programme=chat.programme,
        member_id=member.id,
    )  # fmt: skip
    assert await chat.click("POINTS") == (
        "积分余额：1334\n会员等级：品鉴会员\n再消费 ¥1765.50 即可升级为银卡。\n"
        "1334 积分将于 2027年12月31日 到期，请尽快使用。"
    )
    await chat.say("English")
    english = await chat.say("Points")
    assert english.startswith("Points: 1334\nTier: Taster\nSpend ¥1765.50 more to reach Silver.")


async def test_points_at_the_top_tier_and_with_a_debt(chat: Chat) -> None:
    await chat.join()
    member = await Member.get(openid=chat.openid)
    await record_purchase(
        order_id="T-2", amount_fen=6_000_000, now=chat.clock.now(), programme=chat.programme,
        member_id=member.id,
    )  # fmt: skip
    await Member.filter(id=member.id).update(points_debt=40)
    reply = await chat.say("积分")
    assert "会员等级：黑金" in reply
    assert t("points_top_tier", "zh") in reply
    assert t("points_debt", "zh", debt=40) in reply


async def test_history_shows_the_last_ten_movements_newest_first(chat: Chat) -> None:
    assert await chat.say("明细") == JOIN_FIRST
    await chat.join()
    member = await Member.get(openid=chat.openid)
    now = chat.clock.now()
    for n in range(1, 12):
        chat.later(minutes=1)
        await points.credit(
            member.id, n, kind=EntryKind.BONUS, ref=f"test:{n}", reason=f"活动{n}",
            now=chat.clock.now(),
        )  # fmt: skip
    reply = await chat.say("明细")
    lines = reply.split("\n")
    assert lines[0] == t("history_header", "zh")
    assert lines[1:] == [f"2026年11月23日 +{n} 活动{n}" for n in range(11, 1, -1)]
    assert now.date().isoformat() == "2026-11-23"
    await chat.say("English")
    english = await chat.say("history")
    assert english.split("\n")[1] == "2026-11-23 +11 活动11"  # a reason staff typed: as typed


async def test_history_of_a_new_member_and_after_a_redemption(chat: Chat) -> None:
    await chat.join()
    member = await Member.get(openid=chat.openid)
    await points.debit(
        member.id, 30, kind=EntryKind.REDEEM, ref="test:r", reason="兑换 酒杯",
        now=chat.clock.now(),
    )  # fmt: skip
    assert await chat.say("明细") == (
        "最近的积分明细：\n2026年11月23日 -30 兑换 酒杯\n2026年11月23日 +100 入会礼"
    )


async def test_card_button(chat: Chat) -> None:
    assert await chat.click("CARD") == JOIN_FIRST
    await chat.join(phone="13912345678")
    member = await Member.get(openid=chat.openid)
    assert await chat.click("CARD") == (
        f"【醇香会会员卡】\n会员号：{member.id:08d}\n等级：品鉴会员\n积分：100\n手机号：139****5678"
    )


async def test_tiers_and_their_benefits(chat: Chat) -> None:
    expected = [
        "会员等级与权益：",
        "品鉴会员：入会即享，积分 1 倍，生日礼 50 积分",
        "银卡：近 12 个月消费满 ¥3000，积分 1.2 倍，生日礼 100 积分",
        "金卡：近 12 个月消费满 ¥10000，积分 1.5 倍，生日礼 300 积分",
        "黑金：近 12 个月消费满 ¥50000，积分 2 倍，生日礼 800 积分",
    ]
    assert (await chat.say("等级")).split("\n") == expected
    await chat.join()
    assert (await chat.say("等级")).split("\n") == [*expected, "您当前的等级：品鉴会员"]
    await chat.say("English")
    english = (await chat.say("tier")).split("\n")
    assert english[2] == "Silver: ¥3000 spent over 12 months, 1.2x points, birthday gift 100 points"
    assert english[-1] == "Your tier: Taster"


async def test_checkin_once_a_day_with_the_streak_bonus(chat: Chat) -> None:
    await chat.join()
    assert await chat.say("签到") == "签到成功！连续签到 1 天，获得 2 积分。当前积分：102"
    assert await chat.click("CHECKIN") == t("checkin_already", "zh", streak=1)
    balance = 102
    for streak in range(2, 7):
        chat.later(days=1)
        balance += 2
        assert await chat.say("签到") == (
            f"签到成功！连续签到 {streak} 天，获得 2 积分。当前积分：{balance}"
        )
    chat.later(days=1)
    await chat.say("English")
    assert await chat.say("checkin") == (
        f"Checked in! 7 days in a row, 22 points. Balance: {balance + 22}"
        " (including a streak bonus of 20 points)"
    )
    assert await chat.say("checkin") == t("checkin_already", "en", streak=7)
    assert t("checkin_already", "en", streak=7).endswith("(7 days in a row). See you tomorrow!")
    await chat.say("中文")
    chat.later(days=2)
    assert await chat.click("CHECKIN") == (
        f"签到成功！连续签到 1 天，获得 2 积分。当前积分：{balance + 24}"
    )


async def test_birthday_set_and_change(chat: Chat) -> None:
    await chat.join(birthday="跳过")
    examples = t("birthday_examples", "zh")
    ask = t("birthday_ask", "zh", examples=examples)
    assert await chat.say("生日") == ask
    unrecognised = t("birthday_unrecognised", "zh", examples=examples)
    assert await chat.say("下个月") == t("birthday_expected", "zh", problem=unrecognised)
    assert await chat.say("5月20日") == t("birthday_saved", "zh", birthday="5月20日")
    member = await Member.get(openid=chat.openid)
    assert member.birthday_mmdd == 520

    assert await chat.say("生日") == t("birthday_current", "zh", birthday="5月20日") + ask
    assert await chat.say("取消") == t("cancelled", "zh")
    assert (await Member.get(openid=chat.openid)).birthday_mmdd == 520

    # The word and the date in one message; a lunar birthday replaces the solar one.
    assert await chat.say("生日 农历腊月廿三") == t("birthday_saved", "zh", birthday="农历腊月廿三")
    member = await Member.get(openid=chat.openid)
    assert member.birthday_mmdd is None
    assert (member.birthday_lunar_month, member.birthday_lunar_day) == (12, 23)
    assert await chat.say("birthday 1990-02-29") == t(
        "birthday_invalid_date", "zh", examples=t("birthday_examples", "zh")
    )
    assert await chat.say("生日快乐") == t("fallback", "zh")


async def test_a_birthday_step_after_the_expiry_changes_nothing(chat: Chat) -> None:
    await chat.join(birthday="跳过")
    await chat.say("生日")
    chat.later(minutes=31)
    assert await chat.say("5月20日") == t("dialog_expired", "zh", again="生日")
    assert (await Member.get(openid=chat.openid)).birthday_mmdd is None
