"""The terminal chat against a real server (aiohttp TestServer), plaintext and safe mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp

from bot.chat import ChatClient, chat_loop
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from bot.wechat.inbound import parse_incoming
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from config import Settings
from handlers import routers
from handlers.texts import t
from tests.conftest import AES_KEY, make_settings
from tests.fixtures.wechat.app import running_app


def chat_client(
    settings: Settings, url: str, session: aiohttp.ClientSession, clock: FixedClock
) -> ChatClient:
    return ChatClient(
        settings=settings, base_url=url, openid="o_chat_test", session=session, clock=clock
    )


async def test_chat_speaks_plaintext_like_wechat(clock: FixedClock, store: Redis) -> None:
    settings = make_settings()
    async with running_app(settings, clock, store) as server, aiohttp.ClientSession() as session:
        chat = chat_client(settings, str(server.make_url("")), session, clock)
        say = chat.parse_line
        assert await chat.send(say("帮助").xml or "") == t("help", "zh")
        assert await chat.send(say("/subscribe store_12").xml or "") == (
            t("welcome", "zh") + "\n" + t("welcome_store", "zh", days=30)
        )
        member = await Member.get(openid="o_chat_test")
        assert (member.source_kind, member.source_ref) == ("store", "12")
        assert await chat.send(say("/click help").xml or "") == t("help", "zh")
        assert await chat.send(say("/scan store_12").xml or "") == t("scan_store", "zh")
        scanned = parse_incoming((say("/scan K7P2-9QX4-M3").xml or "").encode())
        assert (scanned.event, scanned.scan_result) == ("scancode_waitmsg", "K7P2-9QX4-M3")
        assert await chat.send(say("hello there").xml or "") == t("fallback", "en")
        assert await chat.send(say("/unsubscribe").xml or "") is None
        assert say("/quit").quit and say("/nonsense").show_help and say("  ").xml is None


async def test_chat_speaks_safe_mode_when_a_key_is_set(clock: FixedClock, store: Redis) -> None:
    settings = make_settings(wechat_aes_key=AES_KEY)
    async with running_app(settings, clock, store) as server, aiohttp.ClientSession() as session:
        chat = chat_client(settings, str(server.make_url("")), session, clock)
        assert chat.crypto is not None
        assert await chat.send(chat.parse_line("help").xml or "") == t("help", "en")

        # A chat with the wrong key is refused by the server, as WeChat would be.
        wrong = make_settings(wechat_aes_key="A" * 43)
        stranger = chat_client(wrong, str(server.make_url("")), session, clock)
        try:
            await stranger.send(stranger.parse_line("help").xml or "")
        except Exception as exc:
            assert "403" in str(exc)
        else:
            raise AssertionError("a message encrypted with another key was accepted")


async def test_chat_loop_prints_replies_and_pushed_messages(
    clock: FixedClock, store: Redis
) -> None:
    slow = Router("slow")

    @slow.text("slow")
    async def take_time(ctx: Context) -> Reply | None:
        await asyncio.sleep(0.6)
        return TextReply("slow done")

    settings = make_settings(reply_budget_seconds=0.2)
    async with (
        running_app(settings, clock, store, routers=[slow, *routers()]) as server,
        aiohttp.ClientSession() as session,
    ):
        chat = chat_client(settings, str(server.make_url("")), session, clock)
        printed: list[str] = []

        async def lines() -> AsyncIterator[str]:
            yield "帮助"
            yield "slow"
            for _ in range(50):  # until the pushed reply was shown
                if any("slow done" in p for p in printed):
                    break
                await asyncio.sleep(0.05)
            yield "/quit"

        await chat_loop(chat, lines(), printed.append, poll_every=0.05)
        assert printed[0] == "← " + t("help", "zh")
        assert printed[1] == "← (success: no reply now)"
        assert "⇠ slow done" in printed
        assert await OutboxMessage.filter(openid="o_chat_test").count() == 1
