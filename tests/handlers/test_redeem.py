"""The rewards dialog through `POST /wechat`: list -> choose by number -> confirm."""

from __future__ import annotations

from club.db.models.catalog import Redemption, Reward
from club.db.models.members import Member
from club.rewards.redemptions import create_reward
from handlers.texts import t
from tests.handlers.chat import Chat


async def catalogue(chat: Chat) -> tuple[int, int]:
    now, programme = chat.clock.now(), chat.programme
    glass = await create_reward(
        "醇香酒杯", 60, now, programme, stock=2, description="水晶品鉴杯一只，门店领取"
    )
    decanter = await create_reward("醒酒器", 500, now, programme)
    await create_reward("窖藏品鉴会", 50, now, programme, min_tier="gold")
    return glass.id, decanter.id


async def test_list_choose_confirm(chat: Chat) -> None:
    glass, _ = await catalogue(chat)
    await chat.join()
    listing = await chat.say("兑换")
    assert listing == (
        "可兑换的礼品：\n1. 醇香酒杯  60 积分\n   水晶品鉴杯一只，门店领取\n"
        "2. 醒酒器  500 积分（还差 400 积分）\n"
        "回复序号选择礼品，回复「取消」退出。"
    )  # the gold-tier reward is not offered to a taster
    assert await chat.say("3") == t("redeem_choose_expected", "zh", count=2)
    assert await chat.say("酒杯") == t("redeem_choose_expected", "zh", count=2)
    assert await chat.say("2") == t(
        "redeem_too_expensive", "zh", name="醒酒器", cost=500, short=400
    )
    assert await chat.say("1") == t("redeem_confirm", "zh", name="醇香酒杯", cost=60)
    for other in ("嗯", "好", "yes"):  # only what the prompt asks for redeems
        assert await chat.say(other) == t("redeem_confirm_expected", "zh", name="醇香酒杯")

    confirm = chat.text_body("确认", msg_id=24_571_888_000_001)
    answer = await chat.post(confirm)
    done = chat.content(answer)
    member = await Member.get(openid=chat.openid)
    redemption = await Redemption.get(member_id=member.id)
    assert redemption.reward_id == glass and redemption.points == 60
    voucher = done.split("券码：")[1].split("\n")[0]
    # Vouchers are valid 30 days (the demo programme's vouchers.valid_days).
    assert done == (
        f"兑换成功！醇香酒杯\n券码：{voucher}\n有效期至：2026年12月23日 10:00\n剩余积分：40\n"
        "请在有效期内凭券码领取。"
    )
    assert voucher.replace("-", "") == redemption.voucher_code
    assert (await Reward.get(id=glass)).stock == 1
    assert member.points_balance == 40

    # WeChat retries the confirmation: the same answer, one redemption.
    assert await chat.post(confirm) == answer
    assert await Redemption.filter(member_id=member.id).count() == 1
    # The dialog is over; the list now shows what 40 points can still get.
    assert "（还差 20 积分）" in await chat.click("REDEEM")


async def test_refused_at_confirmation_takes_nothing(chat: Chat) -> None:
    glass, _ = await catalogue(chat)
    await chat.join()
    await chat.say("兑换")
    await chat.say("1")
    await Reward.filter(id=glass).update(stock=0)  # someone else took the last ones meanwhile
    assert await chat.say("确认") == t("redeem_refused_out_of_stock", "zh")
    member = await Member.get(openid=chat.openid)
    assert member.points_balance == 100
    assert await Redemption.filter(member_id=member.id).count() == 0
    assert await chat.say("确认") == t("fallback", "zh")  # no dialog left


async def test_english_cancel_and_expiry(chat: Chat) -> None:
    await catalogue(chat)
    await chat.join()
    await chat.say("English")
    listing = await chat.say("redeem")
    assert listing.startswith("Rewards you can redeem:\n1. 醇香酒杯  60 points\n")
    assert "2. 醒酒器  500 points (400 points short)" in listing
    assert await chat.say("1") == t("redeem_confirm", "en", name="醇香酒杯", cost=60)
    assert await chat.say("cancel") == t("cancelled", "en")
    assert await chat.say("confirm") == t("fallback", "en")

    await chat.say("中文")
    await chat.say("兑换")
    await chat.say("1")
    chat.later(minutes=31)
    assert await chat.say("确认") == t("dialog_expired", "zh", again="兑换")
    assert (await Member.get(openid=chat.openid)).points_balance == 100
    # Asking for the list again inside the dialog starts it afresh.
    await chat.say("兑换")
    assert (await chat.say("兑换")).startswith("可兑换的礼品：")


async def test_nothing_to_redeem(chat: Chat) -> None:
    await chat.join()
    assert await chat.click("REDEEM") == t("redeem_none", "zh")
    assert await chat.say("1") == t("fallback", "zh")


async def test_one_reward_is_chosen_with_1_and_the_english_voucher_says_its_expiry(
    chat: Chat,
) -> None:
    await create_reward("醇香酒杯", 60, chat.clock.now(), chat.programme)
    await chat.join()
    assert await chat.say("兑换") == (
        "可兑换的礼品：\n1. 醇香酒杯  60 积分\n回复「1」选择这件礼品，回复「取消」退出。"
    )
    assert await chat.say("2") == "请回复「1」选择这件礼品，或回复「取消」退出。"
    await chat.say("English")
    assert await chat.say("5") == 'Please send "1" to choose it, or "cancel" to stop.'
    assert (
        await chat.say("1")
        == 'Redeem "醇香酒杯" for 60 points? Send "confirm" to redeem, or "cancel".'
    )
    done = await chat.say("confirm")
    assert "\nValid until: 2026-12-23 10:00\nPoints left: 40\n" in done
