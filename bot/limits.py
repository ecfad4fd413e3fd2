"""Bounded reads: how long a client may take to send a request, how many connections a worker
holds, and what is logged when a client goes away.

aiohttp 3.14 (read in its source, `web_protocol.py`) bounds neither a request's headers nor its
body in time: a client that sent half a POST held its connection, its buffers and a handler
task for as long as it liked (8,000 of them held 103 MiB, one still open after 600 s). Here:

- Headers: aiohttp's keep-alive timer starts when a connection opens and again after each answer,
  and closes the connection if no complete request (line and headers) has arrived when it fires.
  So `keepalive_timeout` bounds both an idle keep-alive connection and the reading of headers.
- Body: no setting exists. `bounded_reads` gives each request `body_timeout` seconds from its
  headers to its body's last byte; past that the handler is stopped and the client gets 408
  (a request whose body arrived in time is never interrupted, however long its handler runs).
- Connections: `CappedSite` serves at most `max_connections` at once per worker; a connection
  beyond that gets a 503 at once and is closed (a reverse proxy in front tries another worker).
- A client that goes away before its body arrived: one INFO line, no traceback (was an ERROR
  with a full traceback per connection). `read_body` is how handlers read, so they can tell it
  from a real failure.

Behind a reverse proxy (nginx), set it to give up first and to stay under the cap:
`client_header_timeout` and `client_body_timeout` at most ours, the upstream `keepalive`
connections per worker well under `max_connections` (e.g. 64), and the upstream
`keepalive_timeout` shorter than our `keepalive_timeout` (e.g. 10s), so the proxy never sends a
request on a connection we are closing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""The largest request body the app reads (its `client_max_size`): a callback message, a staff
API JSON body. Beyond it the staff API answers 413 and the callback 400; a CSV upload reads up to
its own limit."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ServerLimits:
    keepalive_timeout: float = 15.0
    """Seconds an idle connection is kept, and the most a client has to send a request's line and
    headers (from the connection's start or the previous answer)."""
    body_timeout: float = 10.0
    """Seconds from a request's headers to its body's last byte. The callback's bodies are at
    most 64 KiB and WeChat gives up after 5 s; the staff API's are as small."""
    max_connections: int = 1000
    """Connections one worker serves at once. Measured: a half-sent POST holds about 13 KiB, so
    the cap bounds what a flood can hold to about 13 MiB per worker; WeChat's traffic at the
    callback's ceiling (about 3,000 messages/s at 25 ms) needs under 100."""
    lingering_time: float = 2.0
    """After answering a request whose body is not all read (a refusal, a 408), how long its
    remaining bytes are read and dropped before the connection is closed (aiohttp's default 10 s
    would hold a slow client that long again)."""

    def handler_options(self) -> dict[str, Any]:
        """The keyword arguments of `web.AppRunner` these limits set."""
        return {"keepalive_timeout": self.keepalive_timeout, "lingering_time": self.lingering_time}


class ClientGone(Exception):
    """The client closed its connection before its request had arrived whole."""


async def read_body(request: web.BaseRequest) -> bytes:
    """The request's body; `ClientGone` if the client went away while sending it."""
    try:
        return await request.read()
    except ConnectionResetError:  # aiohttp's own (ClientConnectionResetError) is one of these
        raise ClientGone from None


def bounded_reads(limits: ServerLimits) -> Middleware:
    """The middleware: the body's deadline, and one quiet line for a client that went away."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if not request.body_exists or request.content.is_eof():
                return await handler(request)
            return await _with_body_deadline(request, handler, limits.body_timeout)
        except ClientGone:
            log.info(
                "client went away before its request arrived whole",
                extra={"method": request.method, "path": request.path},
            )
            return web.Response(status=400, text="incomplete request")  # nobody to read it

    return middleware


async def _with_body_deadline(
    request: web.Request, handler: Handler, seconds: float
) -> web.StreamResponse:
    task = asyncio.current_task()
    assert task is not None
    payload = request.content
    expired = False

    def expire() -> None:
        # Checked when the timer fires, so a body that arrived in time is never cut short.
        nonlocal expired
        if not payload.is_eof():
            expired = True
            task.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await handler(request)
    except asyncio.CancelledError:
        if expired and task.uncancel() == 0:
            log.info(
                "client too slow sending its body",
                extra={"method": request.method, "path": request.path, "timeout_s": seconds},
            )
            response = web.Response(status=408, text="request body not received in time")
            response.force_close()
            return response
        raise
    finally:
        timer.cancel()


_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 12\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"server busy\n"
)
REFUSAL_LOG_INTERVAL_S = 60.0


class _Refuse(asyncio.Protocol):
    """Answers 503 without reading anything, and closes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_REFUSAL)
        transport.close()


class ConnectionCap:
    """The protocol factory of a capped site: aiohttp's server while it holds fewer than
    `limit` connections, else a refusal."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server = server
        self._limit = limit
        self.refused = 0
        """Connections refused so far."""
        self._unlogged = 0
        self._logged_at: float | None = None

    def __call__(self) -> asyncio.BaseProtocol:
        if len(self._server.connections) < self._limit:
            return self._server()
        self.refused += 1
        self._unlogged += 1
        now = asyncio.get_running_loop().time()
        if self._logged_at is None or now - self._logged_at >= REFUSAL_LOG_INTERVAL_S:
            # One line a minute at most: a flood must not flood the log too.
            log.warning(
                "connection cap reached: refusing new connections with 503",
                extra={"max_connections": self._limit, "refused": self._unlogged},
            )
            self._logged_at, self._unlogged = now, 0
        return _Refuse()


class CappedSite(web.BaseSite):
    """A TCP site whose connections are capped (`web.TCPSite` has no cap)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        max_connections: int,
        backlog: int = 128,
        reuse_port: bool = False,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self.host = host
        self.requested_port = port
        self.max_connections = max_connections
        self.reuse_port = reuse_port
        self.cap: ConnectionCap | None = None

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for)."""
        sockets = getattr(self._server, "sockets", None)  # asyncio's or uvloop's server
        if sockets:
            return int(sockets[0].getsockname()[1])
        return self.requested_port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self.cap = ConnectionCap(server, self.max_connections)
        self._server = await asyncio.get_running_loop().create_server(
            self.cap,
            self.host,
            self.requested_port,
            backlog=self._backlog,
            reuse_port=self.reuse_port or None,
        )
