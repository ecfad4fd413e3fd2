"""A purchase's message is handed to the queue after its commit; a Redis that stops answering
(frozen, a partition) must not hold the purchase's request for the broker's socket timeout.

The caller waits `HAND_OVER_WITHIN_S` at most; the hand-over goes on in the background, so a
short freeze still delivers as soon as Redis answers (a longer one leaves the row to the sweep).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.kv import Redis
from bot.queue import SOCKET_TIMEOUT_S, Feeder, build_broker
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.db.tx import transaction
from club.messaging.outbox import HAND_OVER_WITHIN_S, Outbox
from club.programme import load_programme
from tests.conftest import TEST_REDIS_URL
from tests.fakes.tcp_proxy import TcpProxy
from tests.scheduler.test_queue_heals import members, tell

pytestmark = [pytest.mark.postgres]


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


async def test_a_frozen_redis_holds_a_purchase_message_hand_over_for_its_bound_only(
    pg_only: None,
    redis_only: None,
    db: None,
    store: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert HAND_OVER_WITHIN_S * 3 <= SOCKET_TIMEOUT_S  # else this test could not tell them apart
    target = urlsplit(str(TEST_REDIS_URL))
    fed: list[list[int]] = []
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        broker = build_broker(_through(str(TEST_REDIS_URL), proxy.port))
        await broker.startup()
        feeder = Feeder(broker)

        async def feed(ids: Sequence[int]) -> None:
            await feeder(ids)
            fed.append(list(ids))

        try:
            outbox = Outbox(load_programme(None), feed=feed)
            [member] = await members(1, window=True, start=900)
            proxy.freeze()
            caplog.set_level(logging.WARNING, "club.messaging.outbox")
            started = time.monotonic()
            async with transaction():  # as a purchase writes its notice
                row_id = await tell(outbox, member)
            took = time.monotonic() - started
            row = await OutboxMessage.get(id=row_id)
            assert row.status is OutboxStatus.QUEUED and not fed
            await asyncio.sleep(1)
            proxy.thaw()  # within the socket timeout: the hand-over still goes
            deadline = time.monotonic() + SOCKET_TIMEOUT_S
            while not fed and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            proxy.thaw()
            await broker.shutdown()
    # Before the bound, the caller waited the broker's socket timeout (10 s): a clerk's purchase
    # request hung, and a client that gives up at 5 s sent it again.
    assert took < HAND_OVER_WITHIN_S + (SOCKET_TIMEOUT_S - HAND_OVER_WITHIN_S) / 2, took
    assert fed == [[row_id]]
    assert "could not hand" not in caplog.text
