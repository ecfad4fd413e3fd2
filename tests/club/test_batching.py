"""TurnBatcher: calls of one loop turn share a batch; results and errors reach their caller."""

from __future__ import annotations

import asyncio

import pytest

from club.batching import TurnBatcher


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def run(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await asyncio.sleep(0)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_calls_of_one_turn_share_one_batch_and_get_their_own_results() -> None:
    recorder = Recorder()
    batcher: TurnBatcher[int, int] = TurnBatcher(recorder.run)
    results = await asyncio.gather(*(batcher.submit(i) for i in (0, 2, 4, 6)))
    assert results == [0, 20, 40, 60]
    assert recorder.batches == [[0, 2, 4, 6]]


async def test_an_item_that_fails_fails_only_its_caller() -> None:
    recorder = Recorder()
    batcher: TurnBatcher[int, int] = TurnBatcher(recorder.run)
    results = await asyncio.gather(*(batcher.submit(i) for i in (2, 3, 4)), return_exceptions=True)
    assert results[0] == 20 and results[2] == 40
    assert isinstance(results[1], ValueError) and str(results[1]) == "odd 3"


async def test_a_lone_call_goes_out_without_waiting_for_company() -> None:
    recorder = Recorder()
    batcher: TurnBatcher[int, int] = TurnBatcher(recorder.run)
    assert await asyncio.wait_for(batcher.submit(8), timeout=1) == 80
    assert await batcher.submit(10) == 100
    assert recorder.batches == [[8], [10]]


async def test_batches_are_split_at_the_maximum() -> None:
    recorder = Recorder()
    batcher: TurnBatcher[int, int] = TurnBatcher(recorder.run, max_batch=3)
    await asyncio.gather(*(batcher.submit(i) for i in range(0, 14, 2)))
    assert [len(b) for b in recorder.batches] == [3, 3, 1]


async def test_a_failing_batch_reaches_every_caller() -> None:
    async def broken(items: list[int]) -> list[int]:
        raise ConnectionError("store went away")

    batcher: TurnBatcher[int, int] = TurnBatcher(broken)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_batch_that_answers_short_is_an_error_not_a_hang() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    batcher: TurnBatcher[int, int] = TurnBatcher(short)
    with pytest.raises(RuntimeError, match="a batch of 2 got 1 results"):
        await asyncio.gather(batcher.submit(1), batcher.submit(2))


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    release = asyncio.Event()

    async def slow(items: list[int]) -> list[int]:
        await release.wait()
        return items

    batcher: TurnBatcher[int, int] = TurnBatcher(slow)
    first = asyncio.ensure_future(batcher.submit(1))
    second = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert await second == 2
    assert first.cancelled()


class Gate:
    """A batch run that holds each batch until the test opens the gate."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.open = asyncio.Event()

    async def run(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.open.wait()
        return [i * 10 for i in items]


async def test_with_one_batch_in_flight_what_arrives_meanwhile_goes_next_as_one_batch() -> None:
    gate = Gate()
    batcher: TurnBatcher[int, int] = TurnBatcher(gate.run, max_in_flight=1)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0.01)
    more = asyncio.ensure_future(batcher.submit(4))
    await asyncio.sleep(0.01)
    assert gate.batches == [[1]]  # the others wait for the batch out there
    gate.open.set()
    assert await first == 10
    assert [await f for f in later] + [await more] == [20, 30, 40]
    assert gate.batches == [[1], [2, 3, 4]]


async def test_a_failed_batch_in_flight_does_not_hold_back_the_next() -> None:
    calls = 0

    async def flaky(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise ConnectionError("gone")
        return items

    batcher: TurnBatcher[int, int] = TurnBatcher(flaky, max_in_flight=1)
    failing = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(batcher.submit(2))
    with pytest.raises(ConnectionError):
        await failing
    assert await asyncio.wait_for(waiting, 1) == 2
