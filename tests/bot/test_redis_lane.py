"""The callback's own Redis connection (`bot.redis_lane`): batching, answers in order, NOSCRIPT,
errors, a dropped or silent connection, and the same database as the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot import keys as redis_keys
from bot.kv import Redis, in_process_store
from bot.pipelined import PipelinedScripts
from bot.redis_lane import CLIENT_NAME, Endpoint, ScriptLane
from bot.turns import Turns
from tests.conftest import TEST_REDIS_URL

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
FAILS = "return redis.error_reply('no thanks')"
ECHO = "return {ARGV[1], false, tonumber(ARGV[2])}"


def k(name: str) -> str:
    """A key of this test session's prefix: the suite clears only those between tests."""
    return f"{redis_keys.prefix()}:lane:{name}"


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def lane(redis_only: None, store: Redis) -> AsyncIterator[ScriptLane]:
    lane = ScriptLane.for_store(store, timeout=2.0)
    assert lane is not None
    yield lane
    await lane.aclose()


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer the lane's CLIENT SETNAME, as Redis would."""
    await reader.readuntil(CLIENT_NAME.encode() + b"\r\n")
    writer.write(b"+OK\r\n")
    await writer.drain()


async def until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.read(65536):
        pass
    writer.close()


async def fake_redis(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_calls_of_one_loop_turn_go_in_one_write_and_each_gets_its_answer(
    lane: ScriptLane, store: Redis
) -> None:
    incr = lane.register(INCR_BY)
    await store.script_load(INCR_BY)
    results = await asyncio.gather(*(incr(keys=[k("counter")], args=[n]) for n in (1, 2, 3, 4)))
    assert results == [1, 3, 6, 10]
    assert lane.batches == 1
    assert int(await store.get(k("counter")) or 0) == 10


async def test_replies_keep_their_shape(lane: ScriptLane) -> None:
    echo = lane.register(ECHO)
    assert await echo(keys=[], args=[b"\x00state\r\n", 7]) == [b"\x00state\r\n", None, 7]


async def test_a_script_unknown_to_redis_is_sent_in_full_once(
    lane: ScriptLane, store: Redis
) -> None:
    await store.script_flush()
    incr = lane.register(INCR_BY)
    both = await asyncio.gather(incr(keys=[k("n")], args=[5]), incr(keys=[k("n")], args=[1]))
    assert sorted(both) == [5, 6]  # NOSCRIPT for both, then both by EVAL in one write
    assert (await store.script_exists(incr.sha)) == [True]
    assert await incr(keys=[k("n")], args=[1]) == 7
    assert lane.batches == 3  # EVALSHA x2, EVAL x2, EVALSHA


async def test_a_failing_script_fails_its_caller_only(lane: ScriptLane) -> None:
    incr, fails = lane.register(INCR_BY), lane.register(FAILS)
    ok, refused, after = await asyncio.gather(
        incr(keys=[k("m")], args=[2]),
        fails(keys=[k("m")], args=[]),
        incr(keys=[k("m")], args=[3]),
        return_exceptions=True,
    )
    assert (ok, after) == (2, 5)
    assert isinstance(refused, Exception) and "no thanks" in str(refused)


async def test_a_cancelled_caller_leaves_the_others_their_answers(lane: ScriptLane) -> None:
    incr = lane.register(INCR_BY)
    gone = asyncio.ensure_future(incr(keys=[k("c")], args=[1]))
    stays = asyncio.ensure_future(incr(keys=[k("c")], args=[10]))
    await asyncio.sleep(0)
    gone.cancel()
    assert await stays == 11  # the cancelled call still ran: Redis had it
    assert await incr(keys=[k("c")], args=[0]) == 11


async def test_the_lane_uses_the_stores_database(redis_only: None) -> None:
    assert TEST_REDIS_URL is not None
    other_db = aioredis.from_url(TEST_REDIS_URL.rsplit("/", 1)[0] + "/13")
    where = k("where")  # only this session's key: db 13 may serve someone else
    await other_db.delete(where)
    lane = ScriptLane.for_store(other_db)
    assert lane is not None and lane.endpoint.db == 13
    try:
        assert await lane.register(INCR_BY)(keys=[where], args=[4]) == 4
        assert await other_db.get(where) == b"4"
    finally:
        await lane.aclose()
        await other_db.delete(where)
        await other_db.aclose()


async def test_a_dropped_connection_fails_the_calls_in_flight_and_the_next_call_reconnects(
    lane: ScriptLane, store: Redis
) -> None:
    incr = lane.register(INCR_BY)
    assert await incr(keys=[k("d")], args=[1]) == 1
    assert lane._protocol is not None and lane._protocol.transport is not None
    host, port = lane._protocol.transport.get_extra_info("sockname")[:2]
    ours = [c for c in await store.client_list() if c["addr"] == f"{host}:{port}"]
    assert [c["name"] for c in ours] == [CLIENT_NAME]
    assert await store.client_kill_filter(_id=ours[0]["id"]) == 1
    await asyncio.sleep(0.05)  # the lane hears of it
    assert await incr(keys=[k("d")], args=[1]) == 2


async def test_a_connection_closed_mid_call_fails_that_call_then_recovers() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await greet(reader, writer)
        await reader.read(1)  # the command arrives
        if connections == 1:
            writer.close()  # ...and the server goes away without answering
            return
        await reader.read(65536)
        writer.write(b":42\r\n")
        await writer.drain()
        await until_closed(reader, writer)

    server, port = await fake_redis(handler)
    lane = ScriptLane(Endpoint(host="127.0.0.1", port=port), timeout=2.0)
    script = lane.register(INCR_BY)
    try:
        with pytest.raises(RedisConnectionError):
            await script(keys=[k("k")], args=[1])
        assert await script(keys=[k("k")], args=[1]) == 42
        assert connections == 2
    finally:
        await lane.aclose()
        server.close()


async def test_a_redis_that_stops_answering_fails_the_call_after_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        await until_closed(reader, writer)  # reads, never answers

    server, port = await fake_redis(silent)
    lane = ScriptLane(Endpoint(host="127.0.0.1", port=port), timeout=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(RedisConnectionError, match="did not answer"):
            await lane.register(INCR_BY)(keys=[k("k")], args=[1])
        assert 0.15 <= loop.time() - started < 2.0
    finally:
        await lane.aclose()
        server.close()


async def test_nothing_listening_fails_the_call_at_once() -> None:
    server, port = await fake_redis(lambda r, w: asyncio.sleep(0))
    server.close()
    await server.wait_closed()
    lane = ScriptLane(Endpoint(host="127.0.0.1", port=port), timeout=2.0)
    with pytest.raises(RedisConnectionError, match="could not connect"):
        await lane.register(INCR_BY)(keys=[k("k")], args=[1])
    await lane.aclose()


async def test_a_refused_password_fails_the_call_and_leaks_no_secret(redis_only: None) -> None:
    # The test Redis has no password: AUTH with one is refused.
    lane = ScriptLane(Endpoint(host="127.0.0.1", port=6379, password="s3cret-pw"), timeout=2.0)
    with pytest.raises(RedisConnectionError, match="could not connect") as refused:
        await lane.register(INCR_BY)(keys=[k("k")], args=[1])
    assert "s3cret-pw" not in str(refused.value)
    assert "s3cret-pw" not in repr(lane.endpoint)
    await lane.aclose()


def test_the_greeting_authenticates_selects_the_database_and_names_the_client() -> None:
    name = ("CLIENT", "SETNAME", CLIENT_NAME)
    assert Endpoint(db=0).greeting() == [name]
    assert Endpoint(db=3, password="pw").greeting() == [("AUTH", "pw"), ("SELECT", 3), name]
    assert Endpoint(username="club", password="pw").greeting() == [("AUTH", "club", "pw"), name]


async def test_the_in_process_stand_in_keeps_redis_py() -> None:
    stand_in = in_process_store()
    assert ScriptLane.for_store(stand_in) is None
    turns = Turns(stand_in)
    assert isinstance(turns.scripts, PipelinedScripts)
    await turns.aclose()
    await stand_in.aclose()


async def test_calls_after_close_are_refused(lane: ScriptLane) -> None:
    await lane.aclose()
    with pytest.raises(RedisConnectionError, match="closed"):
        await lane.register(INCR_BY)(keys=[k("k")], args=[1])


async def test_the_connection_keeps_itself_alive(lane: ScriptLane) -> None:
    import socket

    await lane.register(INCR_BY)(keys=[k("alive")], args=[1])
    assert lane._protocol is not None and lane._protocol.transport is not None
    sock = lane._protocol.transport.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1


async def test_calls_made_while_a_batch_is_out_go_together_when_it_is_answered() -> None:
    import hiredis

    release = asyncio.Event()
    commands: list[list[bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        parser = hiredis.Reader()
        while data := await reader.read(65536):
            parser.feed(data)
            while (command := parser.gets()) is not False:
                commands.append(command)
                await release.wait()  # the first answer waits for the test
                writer.write(b":%d\r\n" % len(commands))
                await writer.drain()
        writer.close()

    server, port = await fake_redis(handler)
    lane = ScriptLane(Endpoint(host="127.0.0.1", port=port), timeout=2.0)
    script = lane.register(INCR_BY)
    try:
        first = asyncio.ensure_future(script(keys=[k("k")], args=[1]))
        await asyncio.sleep(0.05)
        later = []
        for n in (2, 3, 4):  # each in its own loop turn, while the first is out
            later.append(asyncio.ensure_future(script(keys=[k("k")], args=[n])))
            await asyncio.sleep(0.01)
        assert lane.batches == 1 and len(commands) == 1
        release.set()
        assert await first == 1
        assert [await call for call in later] == [2, 3, 4]
        assert lane.batches == 2  # the three waiting calls went in one write
    finally:
        await lane.aclose()
        server.close()
