"""Redis scripts of one loop turn go as one pipeline, on the real Redis and the stand-in."""

from __future__ import annotations

import asyncio

from bot import keys
from bot.kv import Redis
from bot.pipelined import PipelinedScripts

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
FAILS = "return redis.error_reply('no thanks')"


def k(name: str) -> str:
    """A key of this test session's prefix: the suite clears only those between tests."""
    return f"{keys.prefix()}:pipelined:{name}"


async def test_concurrent_calls_share_one_pipeline_and_each_gets_its_answer(store: Redis) -> None:
    scripts = PipelinedScripts(store)
    incr = scripts.register(INCR_BY)
    results = await asyncio.gather(*(incr(keys=[k("counter")], args=[n]) for n in (1, 2, 3, 4)))
    assert results == [1, 3, 6, 10]
    assert scripts.batches == 1
    assert int(await store.get(k("counter")) or 0) == 10


async def test_a_script_unknown_to_redis_is_sent_in_full_once(store: Redis) -> None:
    await store.script_flush()
    scripts = PipelinedScripts(store)
    incr = scripts.register(INCR_BY)
    assert await incr(keys=[k("n")], args=[5]) == 5  # NOSCRIPT, then EVAL
    assert (await store.script_exists(incr.sha)) == [True]
    assert await incr(keys=[k("n")], args=[1]) == 6  # EVALSHA now


async def test_a_failing_script_fails_its_caller_only(store: Redis) -> None:
    scripts = PipelinedScripts(store)
    incr, fails = scripts.register(INCR_BY), scripts.register(FAILS)
    ok, refused = await asyncio.gather(
        incr(keys=[k("m")], args=[2]), fails(keys=[k("m")], args=[]), return_exceptions=True
    )
    assert ok == 2
    assert isinstance(refused, Exception) and "no thanks" in str(refused)
