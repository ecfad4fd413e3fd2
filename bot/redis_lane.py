"""The callback's own Redis connection: its two scripts, pipelined, on a plain asyncio protocol.

Every WeChat callback runs two Redis scripts (`bot.turns`). Through redis-py they cost more of
our CPU than anything else the callback does besides HTTP: measured in process with 32 messages
in flight, redis-py's pipeline (connection pool, retry wrapper, timeouts, its RESP parser in
Python, command packing) took about 110 of the ~270 us `Conversation.answer` spends on a
message, even with the scripts of one loop turn sharing one pipeline. Redis itself spends 8-16 us
on each (measured on the 2-core VM; an empty script costs 8).

A lane keeps one connection open and does only what those scripts need:
- commands are packed by hiredis (C); the calls made in one loop turn, or while the previous
  batch was out, go in one write;
- replies are parsed by hiredis's `Reader` as they arrive and handed to the callers in order
  (Redis answers a connection's commands in the order it got them), with no task per batch;
- EVALSHA first; a NOSCRIPT answer (Redis restarted or its script cache was flushed) sends that
  call again with EVAL, which caches the script;
- a call gets `RedisConnectionError` when the connection drops or Redis does not answer within
  `timeout`; nothing is retried (a script may have run): the callback answers 503 and WeChat
  retries the message. The next call opens a new connection.

Everything else the service does with Redis (locks taken outside the callback, the dialog's
writes, the outbox, tokens) stays on redis-py. The lane serves TCP and Unix-socket Redis; for
TLS, or the in-process stand-in, `for_store` returns None and the callback keeps redis-py
(`bot.pipelined`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import hiredis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.scripts import Arg, Script

if TYPE_CHECKING:
    from bot.kv import Redis

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_IN_FLIGHT = 1
"""One batch out at a time: calls made while it is out go together when it is answered. Each
write is a system call, dear on a small VM: fewer, larger writes (measured on pg2 in
`bench/callback.py`: a few percent more messages a second, and a lower p99)."""
CLIENT_NAME = "clubbot-callback"


@dataclass(frozen=True)
class Endpoint:
    """Where the lane connects, and what it says first."""

    host: str | None = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    """A Unix socket instead of host and port."""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def greeting(self) -> list[tuple[Arg, ...]]:
        commands: list[tuple[Arg, ...]] = []
        if self.password:
            auth: tuple[Arg, ...] = ("AUTH", self.password)
            commands.append(("AUTH", self.username, self.password) if self.username else auth)
        if self.db:
            commands.append(("SELECT", self.db))
        commands.append(("CLIENT", "SETNAME", CLIENT_NAME))  # tells it apart in CLIENT LIST
        return commands


@dataclass(eq=False)
class _Call:
    script: Script
    keys: Sequence[Arg]
    args: Sequence[Arg]
    future: asyncio.Future[Any]
    by_sha: bool = True
    deadline: float = 0.0
    ends_batch: bool = False

    def command(self) -> bytes:
        head: tuple[Arg, ...] = (
            ("EVALSHA", self.script.sha) if self.by_sha else ("EVAL", self.script.source)
        )
        packed: bytes = hiredis.pack_command((*head, len(self.keys), *self.keys, *self.args))  # type: ignore[arg-type]
        return packed


class _Protocol(asyncio.Protocol):
    """One connection: writes batches, matches each reply to the oldest call waiting."""

    def __init__(self, lane: ScriptLane) -> None:
        self._lane = lane
        self._reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[_Call | asyncio.Future[Any]] = collections.deque()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.reason = "the connection to Redis closed"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # A connection silently dropped on the way (NAT, firewall) is found out while idle,
            # not by the next message waiting out the timeout.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def send(self, data: bytes, calls: Sequence[_Call | asyncio.Future[Any]]) -> None:
        assert self.transport is not None
        self.waiting.extend(calls)
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                self._lane._answer(self.waiting.popleft(), reply)
            self._lane._flush()  # what queued meanwhile (and NOSCRIPT calls) goes now
        except hiredis.ProtocolError:
            self.abort("Redis sent something that is not RESP")
        except IndexError:
            self.abort("Redis answered more than it was asked")

    def abort(self, reason: str) -> None:
        self.reason = reason
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        waiting, self.waiting = self.waiting, collections.deque()
        for call in waiting:
            future = call.future if isinstance(call, _Call) else call
            if not future.done():
                future.set_exception(RedisConnectionError(self.reason))
        if not self.lost.done():
            self.lost.set_result(None)
        self._lane._lost(self)


class ScriptLane:
    """One per process and event loop (the conversation holds it)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        """Batches written and not yet answered in full."""
        self.batches = 0
        """Writes made so far (for tests and benchmarks)."""
        self._queue: list[_Call] = []
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._closed = False

    @classmethod
    def for_store(cls, store: Redis, *, timeout: float = DEFAULT_TIMEOUT_S) -> ScriptLane | None:
        """A lane to the same Redis and database as `store`; None if the lane cannot serve it
        (the in-process stand-in, TLS)."""
        pool = store.connection_pool
        kwargs = pool.connection_kwargs
        db = int(kwargs.get("db") or 0)
        username, password = kwargs.get("username"), kwargs.get("password")
        if pool.connection_class is Connection:
            endpoint = Endpoint(
                host=str(kwargs.get("host") or "localhost"),
                port=int(kwargs.get("port") or 6379),
                db=db,
                username=username,
                password=password,
            )
        elif pool.connection_class is UnixDomainSocketConnection:
            endpoint = Endpoint(
                host=None, path=str(kwargs["path"]), db=db, username=username, password=password
            )
        else:
            return None
        return cls(endpoint, timeout=timeout)

    def register(self, source: str) -> Script:
        return Script(self, source)

    async def call(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        if self._closed:
            raise RedisConnectionError("the script lane is closed")
        loop = asyncio.get_running_loop()
        call = _Call(script, keys, args, loop.create_future())
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append(call)
        return await call.future

    def _flush(self) -> None:
        if not self._queue:
            return
        protocol = self._protocol
        if protocol is None:  # sent once connected; the connection's failure fails them
            if self._connecting is None:
                self._connecting = asyncio.ensure_future(self._connect())
            return
        if self._in_flight >= self.max_in_flight:
            return  # goes when a batch out there has its answers (`data_received`)
        queue, self._queue = self._queue, []
        self._send(protocol, queue)

    def _send(self, protocol: _Protocol, calls: list[_Call]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        for call in calls:
            call.deadline = deadline
            call.ends_batch = False
        calls[-1].ends_batch = True
        self._in_flight += 1
        self.batches += 1
        protocol.send(b"".join(call.command() for call in calls), calls)
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        """Armed while calls wait: a Redis that stops answering fails them after `timeout`."""
        self._watchdog = None
        protocol = self._protocol
        if protocol is None:
            return
        oldest = next((c for c in protocol.waiting if isinstance(c, _Call)), None)
        if oldest is None:
            return
        loop = asyncio.get_running_loop()
        if oldest.deadline <= loop.time():
            log.error("Redis did not answer the callback's scripts in time; reconnecting")
            protocol.abort(f"Redis did not answer within {self.timeout:g} s")
        else:
            self._watchdog = loop.call_at(oldest.deadline, self._check_deadline)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        endpoint = self.endpoint
        try:
            protocol = await asyncio.wait_for(self._open(loop, endpoint), self.timeout)
        except Exception as exc:
            log.error("could not connect the callback's Redis lane: %s", type(exc).__name__)
            queue, self._queue = self._queue, []
            for call in queue:
                if not call.future.done():
                    call.future.set_exception(
                        RedisConnectionError(f"could not connect to Redis: {exc!r}")
                    )
            return
        finally:
            self._connecting = None
        self._protocol = protocol
        self._flush()

    async def _open(self, loop: asyncio.AbstractEventLoop, endpoint: Endpoint) -> _Protocol:
        if endpoint.path is not None:
            _, protocol = await loop.create_unix_connection(lambda: _Protocol(self), endpoint.path)
        else:
            assert endpoint.host is not None
            _, protocol = await loop.create_connection(
                lambda: _Protocol(self), endpoint.host, endpoint.port
            )
        greeting = endpoint.greeting()
        if greeting:  # one write; the first call waits for it
            answers = [loop.create_future() for _ in greeting]
            protocol.send(b"".join(hiredis.pack_command(c) for c in greeting), answers)  # type: ignore[arg-type]
            try:
                for answer in answers:
                    await answer
            except BaseException:  # refused, or timed out (cancelled): no half-open connection
                protocol.abort("Redis refused the lane's AUTH, SELECT or CLIENT SETNAME")
                raise
        return protocol

    def _answer(self, waiting: _Call | asyncio.Future[Any], reply: Any) -> None:
        if isinstance(waiting, asyncio.Future):  # the greeting
            if not waiting.done():
                if isinstance(reply, hiredis.ReplyError):
                    waiting.set_exception(ResponseError(str(reply)))
                else:
                    waiting.set_result(reply)
            return
        call = waiting
        if call.ends_batch:
            call.ends_batch = False
            self._in_flight -= 1
        if call.future.done():  # the caller went away (cancelled)
            return
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            if message.startswith("NOSCRIPT") and call.by_sha:
                call.by_sha = False  # once: EVAL caches it; sent after this read's replies
                self._queue.append(call)
                return
            call.future.set_exception(ResponseError(message))
            return
        call.future.set_result(reply)

    def _lost(self, protocol: _Protocol) -> None:
        if self._protocol is protocol:
            self._protocol = None
            self._in_flight = 0
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._queue and not self._closed:  # calls made since: on a new connection
            asyncio.get_running_loop().call_soon(self._flush)

    async def aclose(self) -> None:
        self._closed = True
        queue, self._queue = self._queue, []
        for call in queue:
            if not call.future.done():
                call.future.set_exception(RedisConnectionError("the script lane is closed"))
        if self._connecting is not None:
            self._connecting.cancel()
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            protocol.reason = "the script lane is closed"
            protocol.transport.close()
            await protocol.lost
