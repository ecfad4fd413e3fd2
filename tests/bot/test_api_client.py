"""The WeChat API client against the local fake WeChat server: retries, error meaning, base URL."""

from __future__ import annotations

import dataclasses
import logging

import aiohttp
import pytest

from bot.kv import Redis
from bot.metrics import Metrics
from bot.wechat.api import RetryPolicy, WeChatAPI
from bot.wechat.errors import (
    InvalidOpenid,
    IPNotWhitelisted,
    MemberUnreachable,
    NotAuthorised,
    OutsideWindow,
    QuotaExceeded,
    RateLimited,
    TokenInvalid,
    TransportError,
    WeChatAPIError,
)
from tests.bot.test_sending import make_api as client_at
from tests.fakes import GIVE_UP_S, TOO_LATE, FakeWeChat, Reply

OPENID = "oQwErTyUiOp1234567890abcd"
FAST = RetryPolicy(retries=3, base_delay_s=0.01, max_delay_s=0.04)
SEND = "message/custom/send"


class Sleeps:
    """An injected sleep that records the back-off delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_api(
    fake: FakeWeChat,
    http: aiohttp.ClientSession,
    store: Redis,
    *,
    metrics: Metrics | None = None,
    sleep: Sleeps | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> WeChatAPI:
    sleep = sleep or Sleeps()
    return client_at(
        fake.base_url, http, store, retry=FAST, timeout=timeout, metrics=metrics, sleep=sleep
    )


async def test_40001_renews_the_token_once_and_retries_once(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store)
    fake.script(SEND, [40001])
    await api.send_text(OPENID, "你好")
    token_calls = fake.calls("stable_token")
    assert len(token_calls) == 2
    assert [c.body["force_refresh"] for c in token_calls] == [False, True]
    sends = fake.calls(SEND)
    assert len(sends) == 2
    assert sends[0].access_token != sends[1].access_token == "ACCESS_TOKEN_2"


@pytest.mark.parametrize("code", [40001, 40014, 42001])
async def test_a_second_token_rejection_is_raised_not_looped(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, code: int
) -> None:
    api = make_api(fake, http, store)
    fake.script(SEND, [code, code, code])
    with pytest.raises(TokenInvalid) as caught:
        await api.send_text(OPENID, "hi")
    assert caught.value.errcode == code
    assert fake.count(SEND) == 2
    assert fake.count("stable_token") == 2


async def test_force_refresh_at_most_once_per_interval(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store)
    fake.script(SEND, [40001])
    await api.send_text(OPENID, "one")
    fake.script(SEND, [40001])
    await api.send_text(OPENID, "two")
    forced = [c.body["force_refresh"] for c in fake.calls("stable_token")]
    assert forced == [False, True, False]
    assert fake.count(SEND) == 4


@pytest.mark.parametrize("code", [45011, -1])
async def test_rate_limit_backs_off_then_succeeds(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, code: int
) -> None:
    sleeps = Sleeps()
    api = make_api(fake, http, store, sleep=sleeps)
    fake.script(SEND, [code, code])
    await api.send_text(OPENID, "hi")
    assert fake.count(SEND) == 3
    assert len(sleeps.delays) == 2
    # Exponential with jitter: each delay within [ceiling/2, ceiling] of its step.
    assert 0.005 <= sleeps.delays[0] <= 0.01
    assert 0.01 <= sleeps.delays[1] <= 0.02


async def test_rate_limit_retries_are_bounded(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    sleeps = Sleeps()
    api = make_api(fake, http, store, sleep=sleeps)
    fake.script(SEND, [45011] * 10)
    with pytest.raises(RateLimited):
        await api.send_text(OPENID, "hi")
    assert fake.count(SEND) == 1 + FAST.retries
    assert len(sleeps.delays) == FAST.retries
    assert max(sleeps.delays) <= FAST.max_delay_s


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (45015, OutsideWindow),
        (45047, OutsideWindow),
        (45009, QuotaExceeded),
        (43004, MemberUnreachable),
        (43101, MemberUnreachable),
        (40003, InvalidOpenid),
        (48001, NotAuthorised),
        (40164, IPNotWhitelisted),
        (40037, WeChatAPIError),
    ],
)
async def test_errors_map_to_their_meaning_and_are_not_retried(
    fake: FakeWeChat,
    http: aiohttp.ClientSession,
    store: Redis,
    code: int,
    error: type[WeChatAPIError],
) -> None:
    sleeps = Sleeps()
    api = make_api(fake, http, store, sleep=sleeps)
    fake.script(SEND, [code])
    with pytest.raises(error) as caught:
        await api.send_text(OPENID, "hi")
    assert type(caught.value) is error
    assert caught.value.errcode == code
    assert fake.count(SEND) == 1
    assert sleeps.delays == []


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_of_a_call_safe_to_repeat_are_retried_then_given_up(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, status: int
) -> None:
    sleeps = Sleeps()
    api = make_api(fake, http, store, sleep=sleeps)
    fake.script("user/info", [Reply(status=status, body="<html>bad gateway</html>")] * 10)
    with pytest.raises(TransportError) as caught:
        await api.user_info(OPENID)
    assert caught.value.errcode == status
    assert fake.count("user/info") == 1 + FAST.retries


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_customer_service_message_is_not_repeated_after_a_server_error(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, status: int
) -> None:
    # WeChat may have delivered it before the error: no idempotency key, so no second try.
    api = make_api(fake, http, store)
    fake.script(SEND, [Reply(status=status, body="<html>bad gateway</html>")] * 10)
    with pytest.raises(TransportError) as caught:
        await api.send_text(OPENID, "hi")
    assert caught.value.errcode == status and caught.value.written
    assert fake.count(SEND) == 1


async def test_a_server_error_then_success(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store)
    fake.script("message/template/send", [Reply(status=502), Reply(body="not json")])
    result = await api.send_template(OPENID, "TPL", {"first": "生日快乐"}, client_msg_id="m1")
    assert result.msgid is not None
    assert fake.count("message/template/send") == 3


async def test_a_template_without_a_client_msg_id_is_not_repeated(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store)
    fake.script("message/template/send", [Reply(status=502)])
    with pytest.raises(TransportError):
        await api.send_template(OPENID, "TPL", {"first": "生日快乐"})
    assert fake.count("message/template/send") == 1


async def test_a_timeout_is_retried_where_a_repeat_is_harmless(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store, timeout=aiohttp.ClientTimeout(total=GIVE_UP_S))
    late = dataclasses.replace(TOO_LATE, body={"errcode": 0, "msgid": 1})
    fake.script("message/template/send", [late])
    await api.send_template(OPENID, "TPL", {"first": "生日快乐"}, client_msg_id="m2")
    assert fake.count("message/template/send") == 2


async def test_a_customer_service_message_answered_after_the_timeout_is_not_repeated(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store, timeout=aiohttp.ClientTimeout(total=GIVE_UP_S))
    fake.script(SEND, [dataclasses.replace(TOO_LATE, body={"errcode": 0})])
    with pytest.raises(TransportError) as caught:
        await api.send_text(OPENID, "hi")
    assert caught.value.written
    await fake.answered()
    assert fake.count(SEND) == 1


async def test_a_4xx_is_not_retried(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    api = make_api(fake, http, store)
    fake.script(SEND, [Reply(status=404, body="no such path")])
    with pytest.raises(TransportError):
        await api.send_text(OPENID, "hi")
    assert fake.count(SEND) == 1


async def test_network_errors_are_retried_then_given_up(
    http: aiohttp.ClientSession, store: Redis
) -> None:
    # A server that has gone away: connection refused on every try, token fetch included.
    async with FakeWeChat() as gone:
        base = gone.base_url
    sleeps = Sleeps()
    api = client_at(base, http, store, retry=FAST, sleep=sleeps)
    with pytest.raises(TransportError) as caught:
        await api.send_text(OPENID, "hi")
    assert caught.value.result == "network"
    assert len(sleeps.delays) == FAST.retries


async def test_every_call_uses_the_configured_base(
    http: aiohttp.ClientSession, store: Redis
) -> None:
    async with FakeWeChat(prefix="/gateway/wx") as fake:
        api = make_api(fake, http, store)
        assert fake.base_url.endswith("/gateway/wx")
        await api.send_text(OPENID, "hi")
        await api.user_info(OPENID)
        await api.get_menu()
        fake.script(SEND, [40001])  # a forced token refresh goes to the base too
        await api.send_text(OPENID, "again")
        assert fake.stray == []
        paths = {c.path for c in fake.calls()}
        assert paths == {
            "cgi-bin/stable_token",
            "cgi-bin/" + SEND,
            "cgi-bin/user/info",
            "cgi-bin/menu/get",
        }
        assert fake.count("stable_token") == 2


async def test_metrics_count_calls_by_endpoint_and_result(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis
) -> None:
    metrics = Metrics()
    api = make_api(fake, http, store, metrics=metrics)
    fake.script(SEND, [45011, Reply(status=503)])
    with pytest.raises(TransportError):  # a 503 may have delivered it: not repeated
        await api.send_text(OPENID, "hi")
    await api.send_text(OPENID, "hi")

    def value(endpoint: str, result: str) -> float | None:
        return metrics.registry.get_sample_value(
            "clubbot_wechat_api_calls_total", {"endpoint": endpoint, "result": result}
        )

    assert value(SEND, "45011") == 1
    assert value(SEND, "http_503") == 1
    assert value(SEND, "ok") == 1
    assert value("stable_token", "ok") == 1


async def test_logs_carry_no_token_secret_or_full_openid(
    fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = make_api(fake, http, store)
    fake.script(SEND, [40001, 45011, Reply(status=502)])
    with pytest.raises(TransportError):
        await api.send_text(OPENID, "hi")
    fake.script(SEND, [43004])
    with pytest.raises(MemberUnreachable):
        await api.send_text(OPENID, "hi")
    text = caplog.text
    assert caplog.records  # something was logged, so the check below means something
    assert "test-secret" not in text
    assert OPENID not in text
    for token in fake.tokens_issued:
        assert token not in text
