"""The client's address and scheme behind a reverse proxy we trust (TRUSTED_PROXIES).

nginx in front of the web workers (deploy/nginx.conf) opens the connections to them itself, so
a request's peer is nginx. It passes the client's address in X-Forwarded-For, appending the
address it was called from to whatever the client sent, and the scheme in X-Forwarded-Proto.
Anyone can send those headers, so they count only on a request whose peer is a trusted proxy,
and only as far as trusted proxies wrote them: read from the right, the first address that is
not a trusted proxy is the client's; what the client wrote itself is further left and ignored.

`forwarded_client` hands such a request on as a copy (aiohttp's `clone`) whose `remote` and
`scheme` are the client's, so every handler and its logs (the staff API's, the console's) and
anything keyed by address see the client, not nginx. aiohttp writes its access log
(LOG_LEVEL=DEBUG) from the request as it arrived, so the middleware also notes the address on it
for `AccessLog`. Without TRUSTED_PROXIES the app has no such middleware (`bot.app`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Set
from typing import Any, cast

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from aiohttp.web_log import AccessLogger

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CLIENT_ADDRESS = web.RequestKey("client_address", str)
"""The client's address, noted on a request that came through a trusted proxy."""


def client_address(remote: str | None, forwarded_for: str | None, trusted: Set[str]) -> str | None:
    """Who sent the request: `remote` (the peer) unless it is a trusted proxy, else the first
    address of X-Forwarded-For, from the right, that is not one. A value that is not an address
    was not written by a proxy of ours: the nearest trusted address is all that is known."""
    if remote is None or remote not in trusted or not forwarded_for:
        return remote
    nearest = remote
    for hop in reversed(forwarded_for.split(",")):
        address = hop.strip()
        if not is_address(address):
            return nearest
        if address not in trusted:
            return address
        nearest = address
    return nearest


def forwarded_scheme(forwarded_proto: str | None, scheme: str) -> str:
    """The scheme the client used, as a trusted proxy says (a chain appends: the first value
    is the client's); `scheme` when it says nothing usable."""
    said = (forwarded_proto or "").split(",")[0].strip().lower()
    return said if said in ("http", "https") else scheme


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def forwarded_client(trusted: Set[str]) -> Middleware:
    """The middleware: a request from a trusted proxy goes on with the client's address and
    scheme; any other request goes on untouched (its headers are anyone's)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        remote = request.remote
        if remote is None or remote not in trusted:
            return await handler(request)
        headers = request.headers
        address = client_address(
            remote, ",".join(headers.getall(hdrs.X_FORWARDED_FOR, ())), trusted
        )
        assert address is not None  # remote is not None
        scheme = forwarded_scheme(headers.get(hdrs.X_FORWARDED_PROTO), request.scheme)
        if address == remote and scheme == request.scheme:
            return await handler(request)
        request[CLIENT_ADDRESS] = address  # for the access log, which reads this request
        # About 5 microseconds a request (measured on this 2-core VM); none without the headers.
        return await handler(request.clone(remote=address, scheme=scheme))

    return middleware


class AccessLog(AccessLogger):
    """aiohttp's access line, whose address is the client's where a trusted proxy gave it."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        address = request.get(CLIENT_ADDRESS)
        if address is not None:
            request = cast(web.BaseRequest, _AsSent(request, address))
        super().log(request, response, time)


class _AsSent:
    """The request as the access log reads it, from the client's address."""

    def __init__(self, request: web.BaseRequest, remote: str) -> None:
        self._request = request
        self.remote = remote

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)
