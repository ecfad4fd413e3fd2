"""`我的数据` and `删除我的数据` through `POST /wechat`."""

from __future__ import annotations

from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member, MemberStatus
from handlers.texts import t
from tests.handlers.chat import Chat


async def test_export_shows_what_is_stored(chat: Chat) -> None:
    await chat.join(phone="13812345678", birthday="农历八月十五", name="王先生")
    await chat.say("签到")
    member = await Member.get(openid=chat.openid)
    assert await chat.say("我的数据") == (
        f"我们保存的您的数据：\n会员号：{member.id:08d}\n称呼：王先生\n手机号：13812345678\n"
        "生日：农历八月十五\n隐私同意：2026年11月23日（版本 2026-11）\n"
        "入会时间：2026年11月23日\n等级：品鉴会员\n积分：102\n来源：未登记\n"
        "积分记录 2 条，购买 0 笔，兑换 0 次，瓶盖码 0 个，签到 1 次。\n"
        "发送「删除我的数据」可删除您的个人信息。"
    )
    await chat.say("English")
    english = await chat.say("my data")
    assert "Name: 王先生\nMobile: 13812345678\nBirthday: lunar 8-15\n" in english
    assert "2 points movements, 0 purchases, 0 redemptions, 0 bottle codes, 1 check-in." in english


async def test_export_for_someone_who_never_joined(chat: Chat) -> None:
    reply = await chat.say("我的数据")
    assert "称呼：未登记\n手机号：未登记\n生日：未登记\n隐私同意：未登记\n入会时间：未登记" in reply


async def test_erase_after_confirmation(chat: Chat) -> None:
    await chat.join(phone="13812345678", birthday="1988-05-20")
    member = await Member.get(openid=chat.openid)
    assert await chat.say("删除我的数据") == t("data_erase_ask", "zh")
    # Erasure is not undone: only what the prompt asks for erases, anything else says so.
    for other in ("好吧", "确认", "好", "yes", "delete"):
        assert await chat.say(other) == t("data_erase_expected", "zh"), other
    assert (await Member.get(id=member.id)).phone == "13812345678"
    assert await chat.say("确认删除") == t("data_erased", "zh")

    erased = await Member.get(id=member.id)
    assert erased.phone is None and erased.birthday_solar is None and erased.birthday_mmdd is None
    assert erased.name is None
    assert erased.status == MemberStatus.DELETED and erased.erased_at == chat.clock.now()
    assert erased.openid != chat.openid
    # The anonymous ledger stays, with the totals.
    assert await LedgerEntry.filter(member_id=member.id).count() == 1
    assert erased.points_balance == 100

    # The same WeChat user is now a stranger with nothing stored.
    after = await chat.say("我的数据")
    assert "手机号：未登记\n生日：未登记" in after
    assert await chat.say("积分") == t("join_first", "zh", bonus=100)


async def test_erase_is_not_done_without_confirmation(chat: Chat) -> None:
    await chat.join()
    await chat.say("English")
    assert await chat.say("delete my data") == t("data_erase_ask", "en")
    assert await chat.say("cancel") == t("cancelled", "en")
    await chat.say("中文")
    await chat.say("删除我的数据")
    chat.later(minutes=31)
    assert await chat.say("确认删除") == t("dialog_expired", "zh", again="删除我的数据")
    member = await Member.get(openid=chat.openid)
    assert member.phone == "13812345678" and member.erased_at is None
