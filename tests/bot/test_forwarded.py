"""Behind nginx (TRUSTED_PROXIES): the client's address and scheme from the headers a trusted
proxy wrote, never from headers anyone else sent; in the logs, the console and the access log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.forwarded import client_address, forwarded_client
from bot.kv import Redis
from bot.serve import start_serving
from club.clock import FixedClock
from clubbot.web import create_app
from config import ConfigError, Settings
from tests.conftest import TOKEN, make_settings
from tests.fixtures.wechat import plain_query, xml
from tests.fixtures.wechat.app import running_app

NGINX = "10.213.80.10"
CLIENT = "203.0.113.7"


@pytest.mark.parametrize(
    ("remote", "forwarded_for", "trusted", "expected"),
    [
        # Not from a trusted proxy: the header is anyone's, the peer is the client.
        ("198.51.100.9", CLIENT, set(), "198.51.100.9"),
        ("198.51.100.9", CLIENT, {NGINX}, "198.51.100.9"),
        # From nginx: the address it appended.
        (NGINX, CLIENT, {NGINX}, CLIENT),
        # What the client wrote itself is on the left, and is not believed.
        (NGINX, f"198.51.100.1, {CLIENT}", {NGINX}, CLIENT),
        (NGINX, f"198.51.100.1,{CLIENT}", {NGINX}, CLIENT),
        # Through two proxies of ours (a balancer, then nginx): the first address not ours.
        (NGINX, f"198.51.100.1, {CLIENT}, 10.213.80.20", {NGINX, "10.213.80.20"}, CLIENT),
        # Nothing forwarded, or nothing usable: the proxy is the nearest address known.
        (NGINX, None, {NGINX}, NGINX),
        (NGINX, "", {NGINX}, NGINX),
        (NGINX, "unknown", {NGINX}, NGINX),
        (NGINX, f"{CLIENT}, not-an-address", {NGINX}, NGINX),
        # IPv6, written as aiohttp writes a peer's address.
        ("::1", "2001:db8::7", {"::1"}, "2001:db8::7"),
        (None, CLIENT, {NGINX}, None),
    ],
)
def test_the_client_is_the_first_address_from_the_right_that_is_not_a_trusted_proxy(
    remote: str | None, forwarded_for: str | None, trusted: set[str], expected: str | None
) -> None:
    assert client_address(remote, forwarded_for, frozenset(trusted)) == expected


async def seen(request: web.Request) -> web.Response:
    return web.json_response(
        {"remote": request.remote, "scheme": request.scheme, "secure": request.secure}
    )


@pytest.fixture
async def echo() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """A small app with the middleware trusting the test client's address (127.0.0.1)."""
    app = web.Application(middlewares=[forwarded_client(frozenset({"127.0.0.1"}))])
    app.router.add_get("/seen", seen)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_a_trusted_proxy_gives_the_handlers_the_clients_address_and_scheme(
    echo: TestClient[web.Request, web.Application],
) -> None:
    headers = {"X-Forwarded-For": f"198.51.100.1, {CLIENT}", "X-Forwarded-Proto": "https"}
    resp = await echo.get("/seen", headers=headers)
    assert await resp.json() == {"remote": CLIENT, "scheme": "https", "secure": True}
    resp = await echo.get("/seen", headers={"X-Forwarded-Proto": "ftp"})
    assert await resp.json() == {"remote": "127.0.0.1", "scheme": "http", "secure": False}


async def test_anyone_else_sending_the_headers_changes_nothing() -> None:
    app = web.Application(middlewares=[forwarded_client(frozenset({NGINX}))])
    app.router.add_get("/seen", seen)
    async with TestClient(TestServer(app)) as client:
        headers = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
        resp = await client.get("/seen", headers=headers)
        assert await resp.json() == {"remote": "127.0.0.1", "scheme": "http", "secure": False}


def test_trusted_proxies_are_addresses_and_anything_else_stops_start_up() -> None:
    settings = make_settings(trusted_proxies=f" {NGINX}, 2001:db8::10 ,")
    assert settings.trusted_proxy_addresses == frozenset({NGINX, "2001:db8::10"})
    for bad in ("nginx", "10.213.80.0/24", "10.213.80.300"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES") as refused:
            Settings.from_env(_env_file=None, trusted_proxies=f"{NGINX},{bad}")
        assert repr(bad) in str(refused.value)


@pytest.fixture
async def behind_nginx(
    clock: FixedClock, store: Redis
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The whole app, as the compose file runs it: nginx (here the test client, 127.0.0.1)
    trusted."""
    async with running_app(make_settings(trusted_proxies="127.0.0.1"), clock, store) as client:
        yield client


async def test_wechat_through_nginx_is_answered_as_before(
    behind_nginx: TestClient[web.Request, web.Application], clock: FixedClock
) -> None:
    # The callback reads its body from the request handed on (a copy sharing the stream).
    query = plain_query(TOKEN, int(clock.now().timestamp()))
    resp = await behind_nginx.post(
        "/wechat",
        params=query,
        data=xml("text.xml").encode(),
        headers={"X-Forwarded-For": "101.226.103.1", "X-Forwarded-Proto": "https"},
    )
    assert resp.status == 200
    reply = xmltodict.parse(await resp.text())["xml"]
    assert (reply["ToUserName"], reply["MsgType"]) == ("oMember0001", "text")


async def test_the_logs_show_the_client_not_nginx(
    behind_nginx: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    forwarded = {"X-Forwarded-For": f"198.51.100.1, {CLIENT}"}
    resp = await behind_nginx.get(
        "/api/v1/members", headers={"Authorization": "Bearer nope", **forwarded}
    )
    assert resp.status == 401
    resp = await behind_nginx.post("/console/login", data={"name": "x"}, headers=forwarded)
    assert resp.status == 403  # no CSRF token
    lines = [r.getMessage() for r in caplog.records if "from " in r.getMessage()]
    assert lines == [
        f"staff API: bad token from {CLIENT} for /api/v1/members",
        f"console: sign-in form without a valid CSRF token from {CLIENT}",
    ]


async def test_the_debug_access_log_shows_the_client(
    clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.serve")  # LOG_LEVEL=DEBUG: the access log is on
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    app = create_app(
        make_settings(trusted_proxies="127.0.0.1"), clock=clock, store=store, create_schema=True
    )
    runner, site = await start_serving(app, host="127.0.0.1", port=0, reuse_port=False)
    try:
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{site.port}"
            for forwarded in ({"X-Forwarded-For": CLIENT}, {}):
                async with http.get(f"{base}/healthz", headers=forwarded) as resp:
                    assert resp.status == 200

        async def logged() -> list[str]:
            while (
                len(lines := [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"])
                < 2
            ):
                await asyncio.sleep(0.01)
            return lines

        # aiohttp writes the line after the answer went out.
        first, second = await asyncio.wait_for(logged(), 5)
    finally:
        await runner.cleanup()
    assert first.startswith(f"{CLIENT} ") and "GET /healthz" in first
    assert second.startswith("127.0.0.1 ")
