"""Bounded reads on the served app (the runner and site `python -m bot` uses, not the test
client): headers and bodies sent too slowly, clients that go away, and the connection cap.

Each talks raw HTTP over a socket, as a slow or vanishing client would. The limits are made
short (fractions of a second) so that the tests wait little; the production values are in
`bot.limits.ServerLimits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from aiohttp import web

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from bot.limits import CappedSite, ServerLimits
from bot.serve import start_serving
from club.clock import FixedClock
from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.db.testing import clear_all_tables
from clubbot.web import create_app
from tests.bot.test_staff_api_support import joined_member, staff_headers
from tests.conftest import TOKEN, make_settings
from tests.fixtures.wechat import plain_query, xml

WAIT_S = 5.0
"""The most any read here waits: far above the limits, so a pass never depends on timing."""


@dataclass
class Served:
    app: web.Application
    runner: web.AppRunner
    site: CappedSite
    clock: FixedClock

    @property
    def port(self) -> int:
        return self.site.port

    def wechat_path(self) -> str:
        return "/wechat?" + urlencode(plain_query(TOKEN, int(self.clock.now().timestamp())))

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def connections(self) -> int:
        assert self.runner.server is not None
        return len(self.runner.server.connections)

    def rejected(self, reason: str) -> float:
        return float(self.app[DEPS].metrics.rejected.labels(reason)._value.get())


@asynccontextmanager
async def serving(clock: FixedClock, store: Redis, limits: ServerLimits) -> AsyncIterator[Served]:
    app = create_app(make_settings(), clock=clock, store=store, create_schema=True)
    runner, site = await start_serving(
        app, host="127.0.0.1", port=0, reuse_port=False, limits=limits
    )
    try:
        await clear_all_tables()
        yield Served(app, runner, site, clock)
    finally:
        await runner.cleanup()


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes the connection (a timeout fails the test)."""
    return await asyncio.wait_for(reader.read(), timeout=WAIT_S)


def head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: clubbot\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def errors_and_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def test_headers_sent_too_slowly_close_the_connection(
    clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(clock, store, ServerLimits(keepalive_timeout=0.3)) as served:
        reader, writer = await served.connect()
        writer.write(b"POST /wechat HTTP/1.1\r\nHost: clubbot\r\n")  # and never the rest
        await writer.drain()
        assert await read_all(reader) == b""  # closed without an answer
        writer.close()
        # An idle connection that never sends anything goes the same way.
        reader, writer = await served.connect()
        assert await read_all(reader) == b""
        writer.close()
    assert errors_and_tracebacks(caplog) == []


async def test_a_body_sent_too_slowly_gets_408_and_nothing_is_processed(
    clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = xml("text.xml").encode()
    async with serving(clock, store, ServerLimits(body_timeout=0.3)) as served:
        reader, writer = await served.connect()
        writer.write(head(served.wechat_path(), len(body)) + body[:40])  # half a message
        await writer.drain()
        answer = await read_all(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"Connection: close" in answer
        assert await Member.all().count() == 0
        assert [k async for k in store.scan_iter(match=f"{keys.prefix()}:dedup:*")] == []

        # The same message sent whole and at once is handled: the limit is on time only.
        reader, writer = await served.connect()
        writer.write(head(served.wechat_path(), len(body), "Connection: close\r\n") + body)
        answer = await read_all(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200 ") and b"<xml>" in answer
    slow = [r for r in caplog.records if r.getMessage() == "client too slow sending its body"]
    assert len(slow) == 1 and slow[0].levelno == logging.INFO
    assert errors_and_tracebacks(caplog) == []


async def test_a_client_gone_mid_body_is_one_info_line_on_either_route(
    clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(clock, store, ServerLimits()) as served:
        member = await joined_member()
        clerk = (await staff_headers())["clerk"]["Authorization"]
        for path, extra in (
            (served.wechat_path(), ""),
            ("/api/v1/purchases", f"Authorization: {clerk}\r\n"),
        ):
            _, writer = await served.connect()
            writer.write(head(path, 1_000, extra) + b'{"member_id": ')
            await writer.drain()
            await asyncio.sleep(0.2)  # the handler is reading the body now
            writer.transport.abort()
        for _ in range(100):  # until the server has noticed both
            gone = [r for r in caplog.records if r.getMessage().startswith("client went away")]
            if len(gone) == 2:
                break
            await asyncio.sleep(0.05)
        assert [(r.levelno, r.exc_info) for r in gone] == [(logging.INFO, None)] * 2
        assert served.rejected("malformed") == 0
        assert await Purchase.all().count() == 0
        assert await Member.all().count() == 1 and member.id
    assert errors_and_tracebacks(caplog) == []


async def test_connections_beyond_the_cap_get_503_at_once(
    clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(clock, store, ServerLimits(max_connections=3)) as served:
        held = [await served.connect() for _ in range(3)]
        # Each held connection is known to the server once it answered on it.
        for reader, writer in held:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: clubbot\r\n\r\n")
            await writer.drain()
            assert (await asyncio.wait_for(reader.readline(), WAIT_S)).startswith(b"HTTP/1.1 200")
        reader, writer = await served.connect()
        answer = await read_all(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"Retry-After: 1" in answer
        assert served.site.cap is not None and served.site.cap.refused == 1

        # One held connection closes: the next one is served again.
        held[0][1].close()
        await held[0][1].wait_closed()
        for _ in range(100):
            if served.connections() < 3:
                break
            await asyncio.sleep(0.05)
        reader, writer = await served.connect()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: clubbot\r\nConnection: close\r\n\r\n")
        assert (await read_all(reader)).startswith(b"HTTP/1.1 200 ")
        writer.close()
        for _, w in held[1:]:
            w.close()
    refusals = [r for r in caplog.records if r.getMessage().startswith("connection cap reached")]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
    assert errors_and_tracebacks(caplog) == []


async def test_a_keep_alive_client_is_served_request_after_request(
    clock: FixedClock, store: Redis
) -> None:
    async with serving(clock, store, ServerLimits()) as served:
        reader, writer = await served.connect()
        for _ in range(3):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: clubbot\r\n\r\n")
            status = await asyncio.wait_for(reader.readline(), WAIT_S)
            assert status.startswith(b"HTTP/1.1 200")
            while (line := await reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        with contextlib.suppress(ConnectionError):
            writer.close()
            await writer.wait_closed()
