"""An unfollow through the callback records the exit with its context, once."""

from __future__ import annotations

from datetime import timedelta

from club.db.models.members import Member
from club.db.models.value import ExitKind, MemberExit
from club.rules.channels import ChannelLevel
from club.sales.purchases import upsert_store
from tests.bot.test_callback_handlers import Bot
from tests.bot.test_callback_handlers import bot as bot  # the fixture, re-exported
from tests.fixtures.wechat import xml


async def test_unfollow_records_the_exit_with_its_origin_once(bot: Bot) -> None:
    await upsert_store("12", "南京西路店", ChannelLevel.KEY_ACCOUNT)
    await bot.send(xml("subscribe_store_qr.xml"))
    bot.clock.advance(timedelta(days=40))
    assert await bot.send(xml("unsubscribe.xml")) == "success"
    await bot.forget_retries()
    await bot.send(xml("unsubscribe.xml"))  # WeChat's retry much later: nothing more
    member = await Member.get(openid="oMember0001")
    [exit_] = await MemberExit.filter(member_id=member.id)
    assert (exit_.kind, exit_.at, exit_.tenure_days, exit_.joined) == (
        ExitKind.UNFOLLOW,
        bot.clock.now(),
        40,
        False,
    )
    assert (exit_.source_kind, exit_.source_ref, exit_.origin_level) == (
        "store",
        "12",
        "key_account",
    )
