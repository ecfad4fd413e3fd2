"""The terminal chat against a real server (aiohttp TestServer), plaintext and safe mode."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest

from bot.chat import ChatClient, chat_loop
from bot.deps import DEPS
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from bot.terminal import Terminal
from bot.wechat.inbound import parse_incoming
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from club.messaging import announcements
from config import Settings
from handlers import routers
from handlers.texts import t
from tests.conftest import AES_KEY, make_settings
from tests.fixtures.wechat.app import running_app

SENT_SLOW = ("⇠ [sent] slow done", "⇠ [now sent] slow done")


def chat_client(
    settings: Settings, url: str, session: aiohttp.ClientSession, clock: FixedClock
) -> ChatClient:
    return ChatClient(
        credentials=settings.credentials,
        base_url=url,
        openid="o_chat_test",
        session=session,
        clock=clock,
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
        # The member wrote Chinese first: an English line is answered in Chinese all the same.
        assert await chat.send(say("what now").xml or "") == t("fallback", "zh")
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
            for _ in range(50):  # until the pushed reply was shown as sent
                if any(p in SENT_SLOW for p in printed):
                    break
                await asyncio.sleep(0.05)
            yield "/quit"

        await chat_loop(chat, lines(), printed.append, poll_every=0.05)
        assert printed[0] == "← " + t("help", "zh")
        assert printed[1] == "← (success: no reply now)"
        # Sent from the callback's task; a poll in between may have seen it queued first.
        assert any(p in SENT_SLOW for p in printed), printed
        assert await OutboxMessage.filter(openid="o_chat_test").count() == 1


async def test_chat_shows_whether_a_push_is_sent_queued_and_when_it_goes(
    clock: FixedClock, store: Redis
) -> None:
    settings = make_settings()
    async with running_app(settings, clock, store) as server, aiohttp.ClientSession() as session:
        deps = server.app[DEPS]
        chat = chat_client(settings, str(server.make_url("")), session, clock)
        assert await chat.pushed() == []
        clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=clock.now().tzinfo))  # quiet hours
        member = await Member.create(
            openid="o_chat_test", joined_at=clock.now(), last_message_at=clock.now()
        )
        now = clock.now()
        answer = await deps.outbox.tell(
            announcements.reply("你好", now), key="chat:1", now=now, member_id=member.id
        )
        assert answer.outbox_id is not None
        await deps.delivery.deliver_ids([answer.outbox_id])  # answers go out at any hour
        notice = announcements.points_adjusted(deps.programme, 5, 105, "补录", now)
        await deps.outbox.tell(notice, key="chat:2", now=now, member_id=member.id)
        queued = await OutboxMessage.get(idempotency_key="chat:2")
        adjusted = "您的积分已调整+5（补录），当前积分105。"
        assert await chat.pushed() == [
            "[sent] 你好",
            f"[queued until 11-24 09:00] {adjusted}",
        ]
        assert await chat.pushed() == []  # still queued: not said twice
        clock.set(datetime(2026, 11, 24, 9, 1, tzinfo=clock.now().tzinfo))
        await deps.delivery.deliver_ids([queued.id])
        assert await chat.pushed() == [f"[now sent] {adjusted}"]
        assert await chat.pushed() == []


def test_a_push_is_printed_above_the_line_being_typed() -> None:
    screen = io.StringIO()
    terminal = Terminal("> ", screen, typed=lambda: "积分 please", interactive=True)
    terminal.interrupt("⇠ [sent] 生日快乐")
    # The line is erased, the push printed, and the prompt drawn again with what was typed.
    assert screen.getvalue() == "\r\x1b[K⇠ [sent] 生日快乐\n> 积分 please"
    piped = io.StringIO()
    Terminal("> ", piped, interactive=False).interrupt("⇠ [sent] 生日快乐")
    assert piped.getvalue() == "⇠ [sent] 生日快乐\n"


@pytest.mark.slow
def test_the_chat_says_when_no_server_is_running() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "WECHAT_"))}
    env.update(DATABASE_URL="sqlite://:memory:", LOG_LEVEL="WARNING", CLUB_CONFIG="")
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "chat", "--url", url],
        input="帮助\n/quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"! the server is not running at {url}" in result.stdout
    assert "Traceback" not in result.stderr and "ClientConnectorError" not in result.stdout
