"""The seed handlers through the whole pipeline, with literal WeChat XML."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.clock import FixedClock
from club.db.models.members import FollowEvent, FollowKind, Member, MemberStatus
from handlers.texts import TEXTS, t
from tests.conftest import TOKEN, make_settings
from tests.fixtures.wechat import plain_query, xml
from tests.fixtures.wechat.app import running_app


@dataclass
class Bot:
    client: TestClient[web.Request, web.Application]
    clock: FixedClock
    store: Redis

    async def send(self, body: str) -> str:
        now = int(self.clock.now().timestamp())
        resp = await self.client.post("/wechat", params=plain_query(TOKEN, now), data=body.encode())
        assert resp.status == 200
        return await resp.text()

    async def reply_text(self, body: str) -> str:
        answer = await self.send(body)
        assert answer != "success", "expected a reply"
        return str(xmltodict.parse(answer)["xml"]["Content"])

    async def forget_retries(self) -> None:
        """As if the de-duplication cache had expired (a retry much later)."""
        async for key in self.store.scan_iter(match=f"{keys.prefix()}:dedup:*"):
            await self.store.delete(key)


@pytest.fixture
async def bot(clock: FixedClock, store: Redis) -> AsyncIterator[Bot]:
    async with running_app(make_settings(), clock, store) as client:
        yield Bot(client, clock, store)


async def test_subscribe_through_a_store_qr_records_the_source_once(bot: Bot) -> None:
    text = await bot.reply_text(xml("subscribe_store_qr.xml"))
    assert text == t("welcome", "zh") + "\n" + t("welcome_store", "zh", days=30)
    member = await Member.get(openid="oMember0001")
    assert (member.source_kind, member.source_ref) == ("store", "12")
    assert member.status == MemberStatus.ACTIVE
    assert member.followed_at == bot.clock.now()
    events = await FollowEvent.filter(member_id=member.id)
    assert [(e.kind, e.scene, e.wechat_create_time) for e in events] == [
        (FollowKind.SUBSCRIBE, "store_12", 1795399200)
    ]

    # WeChat retries after our cache expired: still one follow event.
    await bot.forget_retries()
    await bot.send(xml("subscribe_store_qr.xml"))
    assert await FollowEvent.filter(member_id=member.id).count() == 1

    # Unfollow, then follow again through a staff code: the first source stays.
    bot.clock.advance(timedelta(minutes=1))
    assert await bot.send(xml("unsubscribe.xml")) == "success"
    member = await Member.get(openid="oMember0001")
    assert member.status == MemberStatus.UNFOLLOWED
    assert member.unfollowed_at == bot.clock.now()
    bot.clock.advance(timedelta(days=3))
    again = xml("subscribe_staff_qr.xml", **{"1795399200": "1795658400"})
    assert await bot.reply_text(again) == t("welcome_back", "zh")
    member = await Member.get(openid="oMember0001")
    assert (member.source_kind, member.source_ref) == ("store", "12")
    assert member.status == MemberStatus.ACTIVE
    kinds = [e.kind for e in await FollowEvent.filter(member_id=member.id).order_by("id")]
    assert kinds == [FollowKind.SUBSCRIBE, FollowKind.UNSUBSCRIBE, FollowKind.SUBSCRIBE]


async def test_subscribe_through_a_staff_qr(bot: Bot) -> None:
    assert await bot.reply_text(xml("subscribe_staff_qr.xml")) == t("welcome", "zh")
    member = await Member.get(openid="oMember0001")
    assert (member.source_kind, member.source_ref) == ("staff", "7")


async def test_plain_subscribe_records_no_source(bot: Bot) -> None:
    assert await bot.reply_text(xml("subscribe.xml")) == t("welcome", "zh")
    member = await Member.get(openid="oMember0001")
    assert member.source_kind is None


async def test_scan_by_a_follower(bot: Bot) -> None:
    assert await bot.reply_text(xml("scan_store.xml")) == t("scan_store", "zh")
    member = await Member.get(openid="oMember0001")
    assert member.source_kind is None  # sources come from the first follow only


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (xml("text.xml"), t("help", "zh")),
        (xml("text.xml", **{"帮助": "HELP"}), t("help", "en")),
        (xml("text.xml", **{"帮助": " Ｈｅｌｐ "}), t("help", "en")),
        (xml("click_help.xml"), t("help", "zh")),
        (xml("text.xml", **{"帮助": "今天天气怎么样"}), t("fallback", "zh")),
        (xml("text.xml", **{"帮助": "what is this"}), t("fallback", "en")),
        (xml("text.xml", **{"帮助": "取消"}), t("nothing_to_cancel", "zh")),
    ],
)
async def test_text_and_menu_replies(bot: Bot, body: str, expected: str) -> None:
    assert await bot.reply_text(body) == expected


@pytest.mark.parametrize(
    "name",
    [
        "image.xml",
        "view.xml",
        "location_event.xml",
        "unknown_event.xml",
        "unknown_type.xml",
    ],
)
async def test_messages_nobody_handles_get_success(bot: Bot, name: str) -> None:
    assert await bot.send(xml(name)) == "success"
    assert await Member.filter(openid="oMember0001").count() == 1  # contact still recorded


async def test_a_mass_send_outcome_is_about_the_account_not_a_member(bot: Bot) -> None:
    # MASSSENDJOBFINISH comes from WeChat's own sender: no member row for it (this one is for
    # no mass send of ours, so nothing else changes either).
    assert await bot.send(xml("mass_send_finished.xml")) == "success"
    assert not await Member.exists()


async def test_contact_times_are_recorded(bot: Bot) -> None:
    await bot.send(xml("click_help.xml"))
    member = await Member.get(openid="oMember0001")
    assert member.last_interaction_at == bot.clock.now()
    assert member.last_message_at is None
    bot.clock.advance(timedelta(minutes=5))
    await bot.send(xml("text.xml"))
    member = await Member.get(openid="oMember0001")
    assert member.last_interaction_at == bot.clock.now()
    assert member.last_message_at == bot.clock.now()


async def test_metrics_count_messages_by_type(bot: Bot) -> None:
    await bot.send(xml("text.xml"))
    await bot.send(xml("click_help.xml"))
    metrics = bot.client.app[DEPS].metrics
    assert metrics.messages.labels("text")._value.get() == 1
    assert metrics.messages.labels("event:click")._value.get() == 1
    assert b"clubbot_handler_seconds_count" in metrics.render()


async def test_member_text_cannot_inject_xml_into_the_reply(
    clock: FixedClock, store: Redis
) -> None:
    router = Router("echo")

    @router.fallback()
    async def echo(ctx: Context) -> Reply | None:
        return TextReply(f"you said: {ctx.message.content}")

    async with running_app(make_settings(), clock, store, routers=[router]) as client:
        bot = Bot(client, clock, store)
        answer = await bot.send(xml("text_injection.xml"))
        evil = "hi ]]></Content><MsgType>news</MsgType><Content><![CDATA[x"
        assert "]]]]><![CDATA[>" in answer
        parsed = xmltodict.parse(answer)["xml"]
        assert parsed["Content"] == f"you said: {evil}"
        assert parsed["MsgType"] == "text"
        assert set(parsed) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"}


def test_every_text_has_both_languages() -> None:
    for key, entry in TEXTS.items():
        assert set(entry) == {"zh", "en"}, key
        assert all(entry.values()), key
