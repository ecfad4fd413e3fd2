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

from bot.deps import DEPS
from bot.kv import Redis
from bot.wechat.api import RetryPolicy
from bot.wechat.errors import TransportError
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.messaging import announcements
from club.messaging.delivery import DeliveryStatus
from config import ConfigError, Settings
from scheduler.__main__ import main as scheduler_main
from tests.bot.test_sending import make_api
from tests.conftest import make_settings
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
    told = await deps.outbox.tell(
        announcements.reply("你好", now), key="reply:late:1", now=now, openid=OPENID
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
