"""The queue heals, with real worker processes on the real PostgreSQL and Redis.

- The stream deleted under a running worker (what a Redis restart without persistence, a
  failover or FLUSHALL does): the worker recreates it, a message queued afterwards and one owed
  in the database both go, each once, and its log says so in a few lines, not thousands.
- A worker killed (SIGKILL) while sending a chunk: the other worker takes the chunk over after
  the queue's visibility timeout (set to `VISIBILITY_S` here, 20 s in production) and a claim
  round, and sends the rest; nothing is sent twice by the takeover; the row in flight is
  settled by the sending lease (its template again with the same `client_msg_id`, or outcome
  unknown for a customer-service message).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import keys
from bot.kv import Redis
from bot.queue import Feeder, HealingStreamBroker, build_broker
from club.clock import SystemClock
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.messaging.announcements import reply
from club.messaging.delivery import SENDING_LEASE
from club.messaging.outbox import Outbox
from club.messaging.outcomes import Outcome
from club.programme import load_programme
from scheduler.worker import dispatch_due
from tests.conftest import TEST_REDIS_URL
from tests.fakes import FakeWeChat
from tests.scheduler.processes import ROOT, env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CUSTOM = "message/custom/send"
TEMPLATE = "message/template/send"
CLOCK = SystemClock(ZoneInfo("Asia/Shanghai"))
VISIBILITY_S = 8
"""The workers' QUEUE_VISIBILITY_SECONDS: a takeover waits for it (20 s in production)."""


async def start_worker(api_base: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scheduler",
            "worker",
            cwd=ROOT,
            env=env(
                WECHAT_DRY_RUN="false",
                WECHAT_API_BASE=api_base,
                LOG_LEVEL="INFO",
                QUEUE_VISIBILITY_SECONDS=str(VISIBILITY_S),
            ),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> float:
    """Wait for `check`; how long it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


@pytest.fixture
async def queue(store: Redis) -> AsyncIterator[tuple[Outbox, HealingStreamBroker]]:
    broker = build_broker(str(TEST_REDIS_URL))
    await broker.startup()
    try:
        yield Outbox(load_programme(None), feed=Feeder(broker)), broker
    finally:
        await broker.shutdown()


async def members(n: int, *, window: bool, start: int = 0) -> list[Member]:
    now = CLOCK.now()
    made = []
    for i in range(start, start + n):
        made.append(
            await Member.create(
                openid=f"oHeal{i:06d}",
                status=MemberStatus.ACTIVE,
                consent_at=now - timedelta(days=9),
                joined_at=now - timedelta(days=9),
                tier="taste",
                last_interaction_at=now - timedelta(hours=1) if window else None,
                last_message_at=now - timedelta(hours=1) if window else None,
            )
        )
    return made


async def tell(outbox: Outbox, member: Member, *, hand_over: bool = True) -> int:
    told = await outbox.tell(
        reply(f"answer for {member.openid}", CLOCK.now()),
        key=f"heal:{member.openid}",
        now=CLOCK.now(),
        member_id=member.id,
        hand_over=hand_over,
    )
    assert told.outbox_id is not None
    return told.outbox_id


def received(fake: FakeWeChat, path: str) -> Counter[str]:
    return Counter(str((c.body or {}).get("touser")) for c in fake.calls(path))


async def test_stream_deleted_under_a_running_worker_heals(
    pg_only: None,
    redis_only: None,
    db: None,
    store: Redis,
    fake: FakeWeChat,
    queue: tuple[Outbox, HealingStreamBroker],
    tmp_path: Path,
) -> None:
    outbox, _ = queue
    first, owed, later = await members(3, window=True)
    log = tmp_path / "worker.log"
    worker = await start_worker(fake.base_url, log)
    try:
        await until(lambda: _listening([log]), 30, "the worker reads the stream")
        await tell(outbox, first)
        await until(lambda: _count(fake, CUSTOM, 1), 15, "the first message sent")

        worker.send_signal(signal.SIGSTOP)  # so that it cannot take the next task in time
        await tell(outbox, owed)  # its task in the stream ...
        await store.delete(keys.queue())  # ... lost with it, as by a Redis that lost its data
        await tell(outbox, later)  # queued afterwards: the stream exists again, no group
        worker.send_signal(signal.SIGCONT)
        waited = await until(lambda: _count(fake, CUSTOM, 3), 30, "both sent after the loss")
        assert worker.returncode is None  # no restart needed
    finally:
        await stop(worker)
        print(log.read_text())  # shown when the test fails
    assert received(fake, CUSTOM) == {first.openid: 1, owed.openid: 1, later.openid: 1}
    assert waited < 15
    lines = log.read_text().splitlines()
    lost = [line for line in lines if "recreating its group" in line]
    assert 1 <= len(lost) <= 3, lost
    assert len(lines) < 40, lines[-20:]
    assert not any("Traceback" in line for line in lines), lines
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 3


async def test_a_killed_worker_s_chunk_is_taken_over_and_nothing_sent_twice(
    pg_only: None,
    redis_only: None,
    db: None,
    store: Redis,
    fake: FakeWeChat,
    queue: tuple[Outbox, HealingStreamBroker],
    tmp_path: Path,
) -> None:
    outbox, broker = queue
    fake.slow(CUSTOM, 0.4)
    fake.slow(TEMPLATE, 0.4)
    open_window = await members(6, window=True)
    closed = await members(6, window=False, start=6)
    logs = [tmp_path / f"w{i}.log" for i in range(2)]
    workers = [await start_worker(fake.base_url, log) for log in logs]
    try:
        await until(lambda: _listening(logs), 30, "two workers read the stream")
        ids = [await tell(outbox, m, hand_over=False) for m in open_window + closed]
        await Feeder(broker)(ids)  # one chunk: one worker takes it all
        await until(lambda: _sent(fake, 3), 20, "the chunk half-way")
        holder = await _holder(store)
        victim = next(w for w in workers if str(w.pid) == holder.split("-")[-2])
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        killed_at = time.monotonic()
        other = next(w for w in workers if w is not victim)

        def rest_sent() -> Awaitable[bool]:
            return _settled(len(ids) - 1)

        await until(rest_sent, 45, "the other worker sends the rest")
        took = time.monotonic() - killed_at
        # Taken over within the visibility timeout and a claim round (2 s at 8 s), then sent:
        # nine rows at 0.4 s, with room for a loaded machine.
        assert took < 30, took
        assert other.returncode is None
        in_flight = await OutboxMessage.filter(status=OutboxStatus.SENDING).all()
        assert len(in_flight) == 1
        row = in_flight[0]
        # Nothing sent twice by the takeover: every member once, the one in flight at most once.
        for path in (CUSTOM, TEMPLATE):
            assert all(n == 1 for n in received(fake, path).values()), received(fake, path)
        assert sum(received(fake, CUSTOM).values()) + sum(received(fake, TEMPLATE).values()) in (
            len(ids) - 1,
            len(ids),
        )

        # The scheduler's sweep after the lease: a template row goes again (same client_msg_id,
        # shown once), a customer-service row is outcome unknown and never sent again.
        later = CLOCK.now() + SENDING_LEASE + timedelta(seconds=1)
        await dispatch_due(store, Feeder(broker), later)
        settled = await OutboxMessage.get(id=row.id)
        if row.channel is OutboxChannel.CUSTOM:
            assert settled.outcome == Outcome.OUTCOME_UNKNOWN.value
            await asyncio.sleep(2)
            assert received(fake, CUSTOM)[row.openid] <= 1
        else:
            await until(lambda: _settled(len(ids)), 15, "the template row sent again")
            repeats = [
                c for c in fake.calls(TEMPLATE) if (c.body or {}).get("touser") == row.openid
            ]
            assert 1 <= len(repeats) <= 2
            assert len({(c.body or {}).get("client_msg_id") for c in repeats}) == 1
            assert fake.delivered("template").count(row.openid) == 1
    finally:
        for w in workers:
            await stop(w)


async def _listening(logs: list[Path]) -> bool:
    return all(log.exists() and "Listening started" in log.read_text() for log in logs)


async def _count(fake: FakeWeChat, path: str, n: int) -> bool:
    return fake.count(path) >= n


async def _sent(fake: FakeWeChat, n: int) -> bool:
    return fake.count(CUSTOM) + fake.count(TEMPLATE) >= n


async def _holder(store: Redis) -> str:
    pending: list[dict[str, Any]] = await store.xpending_range(keys.queue(), "taskiq", "-", "+", 10)
    assert len(pending) == 1, pending
    name = pending[0]["consumer"]
    return name.decode() if isinstance(name, bytes) else str(name)


async def _settled(n: int) -> bool:
    return await OutboxMessage.filter(status=OutboxStatus.SENT).count() >= n
