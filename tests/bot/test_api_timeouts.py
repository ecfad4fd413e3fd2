"""The WeChat API client's time limits are settings (WECHAT_API_TIMEOUT_SECONDS,
WECHAT_API_CONNECT_TIMEOUT_SECONDS): read from the environment, checked at load, and what the
app's client gives up after."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from bot.wechat.api import RetryPolicy, WeChatAPI
from bot.wechat.errors import TransportError
from bot.wechat.token import TokenUnavailable
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging import announcements
from club.messaging.delivery import DeliveryStatus
from config import ConfigError, Settings
from scheduler.__main__ import main as scheduler_main
from tests.bot.test_sending import make_api
from tests.conftest import APPID, make_settings
from tests.fakes import FakeWeChat

OPENID = "oQwErTyUiOp1234567890abcd"
SEND = "message/custom/send"


@pytest.fixture
def settings(fake_wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's settings, with the call limit given as the operator gives it: in the
    environment."""
    monkeypatch.setenv("WECHAT_API_TIMEOUT_SECONDS", "0.4")
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


def test_the_defaults_are_ten_seconds_in_all_and_three_to_connect() -> None:
    settings = Settings.from_env(_env_file=None)
    assert settings.wechat_api_timeout_seconds == 10
    assert settings.wechat_api_connect_timeout_seconds == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WECHAT_API_TIMEOUT_SECONDS", "0"),
        ("WECHAT_API_TIMEOUT_SECONDS", "-1"),
        ("WECHAT_API_TIMEOUT_SECONDS", "ten"),
        ("WECHAT_API_TIMEOUT_SECONDS", "inf"),
        ("WECHAT_API_TIMEOUT_SECONDS", "10000"),  # milliseconds typed as seconds
        ("WECHAT_API_CONNECT_TIMEOUT_SECONDS", "0"),
        ("WECHAT_API_CONNECT_TIMEOUT_SECONDS", "nan"),
        ("WECHAT_API_CONNECT_TIMEOUT_SECONDS", "61"),
    ],
)
def test_a_bad_value_is_refused_at_load_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(_env_file=None)


def test_a_process_with_a_bad_value_stops_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WECHAT_API_TIMEOUT_SECONDS", "0")
    assert scheduler_main(["run", "birthday"]) == 2
    assert "WECHAT_API_TIMEOUT_SECONDS" in capsys.readouterr().err


async def test_the_apps_client_gives_up_after_the_configured_total_as_outcome_unknown(
    client: TestClient[web.Request, web.Application], fake_wechat: FakeWeChat
) -> None:
    # WeChat takes 3 s to answer a customer-service message; the app was told 0.4 s. The
    # message may have been delivered, so it is "outcome unknown" and never sent again.
    deps = client.app[DEPS]
    now = deps.clock.now()
    await Member.create(openid=OPENID, last_message_at=now)
    await deps.wechat.tokens.get()
    fake_wechat.slow(SEND, 3.0)
    # Not handed over: on the embedded default the app's own feed would send it at once, and
    # this test sends it itself, through the app's sender.
    told = await deps.outbox.tell(
        announcements.reply("你好", now),
        key="reply:late:1",
        now=now,
        openid=OPENID,
        hand_over=False,
    )
    assert told.outbox_id is not None
    started = time.monotonic()
    status = await deps.delivery.deliver(told.outbox_id)
    waited = time.monotonic() - started
    assert status is DeliveryStatus.OUTCOME_UNKNOWN
    assert 0.4 <= waited < 5, waited  # the setting, not the default 10 s
    row = await OutboxMessage.get(id=told.outbox_id)
    assert (row.status, row.outcome) == (OutboxStatus.FAILED, "outcome_unknown")
    assert fake_wechat.count(SEND) == 1


@pytest.fixture
def unanswering_port() -> Iterator[int]:
    """A port whose listener never accepts and whose backlog is full: a connection to it is
    neither made nor refused (the kernel drops the SYN), as with a host that has gone dark."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in (*fillers, listener):
            sock.close()


async def test_the_client_gives_up_connecting_after_the_configured_connect_timeout(
    unanswering_port: int,
    http: aiohttp.ClientSession,
    store: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WECHAT_API_CONNECT_TIMEOUT_SECONDS", "0.3")
    base = f"http://127.0.0.1:{unanswering_port}"
    api = make_api(base, http, store, retry=RetryPolicy(retries=0), sleep=asyncio.sleep)
    await asyncio.sleep(0.05)  # the fillers' handshakes have taken the backlog
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        await api.send_text(OPENID, "hi")  # its token first: that connection never happens
    waited = time.monotonic() - started
    assert caught.value.result == "network" and not caught.value.written
    assert 0.3 <= waited < 2.0, waited  # the setting, not the default 3 s


async def lock_ttl_while_fetching(api: WeChatAPI, store: Redis) -> int:
    """The refresh lock's remaining time (ms), read while the client fetches a token."""
    fetching = asyncio.create_task(api.tokens.get())
    try:
        async with asyncio.timeout(5):
            while (ttl := await store.pttl(keys.access_token_lock(APPID))) < 0:
                await asyncio.sleep(0.005)
    finally:
        await fetching
    return int(ttl)


async def test_the_token_refresh_is_held_for_the_configured_call_and_no_less(
    fake_wechat: FakeWeChat,
    http: aiohttp.ClientSession,
    store: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a slow link a token fetch may take the whole call limit: were the lock to expire
    # first, another worker would fetch as well, and the waiters would give up on a fetch
    # still in time.
    fake_wechat.slow("stable_token", 0.3)
    monkeypatch.setenv("WECHAT_API_TIMEOUT_SECONDS", "40")
    slow_link = make_api(fake_wechat.base_url, http, store)
    assert 40_000 < await lock_ttl_while_fetching(slow_link, store) <= 45_000
    await store.delete(keys.access_token(APPID))
    monkeypatch.delenv("WECHAT_API_TIMEOUT_SECONDS")
    default = make_api(fake_wechat.base_url, http, store)
    assert 10_000 < await lock_ttl_while_fetching(default, store) <= 15_000  # as before: 15 s


async def test_another_worker_waits_for_the_configured_call_before_giving_up(
    fake_wechat: FakeWeChat,
    http: aiohttp.ClientSession,
    store: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WECHAT_API_TIMEOUT_SECONDS", "40")
    # A worker is fetching (it holds the lock) and no token is there yet.
    await store.set(keys.access_token_lock(APPID), "another-worker", px=45_000)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:  # time passes only as the waiter says
        waited.append(seconds)
        await asyncio.sleep(0)

    waiter = make_api(fake_wechat.base_url, http, store, sleep=sleep)
    with pytest.raises(TokenUnavailable):
        await waiter.tokens.get()
    assert 45 <= sum(waited) < 51, sum(waited)  # the lock's 45 s and 5 more, not 20 s
    assert fake_wechat.count("stable_token") == 0
