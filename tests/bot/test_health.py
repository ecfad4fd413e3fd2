"""Liveness, readiness and metrics routes."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from tortoise import Tortoise

from bot import health, keys
from bot.deps import DEPS
from bot.kv import Redis
from club.clock import FixedClock
from clubbot.web import create_app
from config import Settings

Client = TestClient[web.Request, web.Application]


async def test_healthz_answers_with_the_process_id(client: Client) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "pid": os.getpid()}


async def test_readyz_is_ready_when_database_and_store_answer(client: Client) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ready",
        "checks": {"database": "ok", "store": "ok"},
    }


async def test_readyz_names_the_store_when_it_is_down(
    settings: Settings, clock: FixedClock, store: Redis
) -> None:
    app = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(app)) as client:
        # A server that is not there, without redis-py's reconnect retries.
        dead = aioredis.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        app[DEPS].store = dead
        try:
            resp = await client.get("/readyz")
        finally:
            await dead.aclose()
        assert resp.status == 503
        body = await resp.json()
        assert body == {"status": "not ready", "checks": {"database": "ok", "store": "error"}}


async def test_readyz_names_the_database_when_it_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        async def execute_query(self, sql: str) -> None:
            raise ConnectionRefusedError("database went away")

    monkeypatch.setattr(Tortoise, "get_connection", lambda name: Broken())
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["checks"] == {"database": "error", "store": "ok"}


async def test_readyz_reports_a_check_that_hangs_as_timeout(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:

    class Hanging:
        async def execute_query(self, sql: str) -> None:
            await asyncio.sleep(10)

    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.05)
    monkeypatch.setattr(Tortoise, "get_connection", lambda name: Hanging())
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["checks"]["database"] == "timeout"


async def test_metrics_exposes_the_operational_series(
    settings: Settings, clock: FixedClock, store: Redis
) -> None:
    app = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(app)) as client:
        metrics = app[DEPS].metrics
        metrics.messages.labels(type="text").inc()
        metrics.messages.labels(type="event:subscribe").inc()
        metrics.handler_seconds.labels(type="text").observe(0.012)
        metrics.duplicates.inc()
        metrics.api_calls.labels(endpoint="message/custom/send", result="ok").inc()
        metrics.api_calls.labels(endpoint="message/custom/send", result="45015").inc()

        resp = await client.get("/metrics")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()

    # Messages by type.
    assert "# TYPE clubbot_messages_total counter" in text
    assert 'clubbot_messages_total{type="text"} 1.0' in text
    assert 'clubbot_messages_total{type="event:subscribe"} 1.0' in text
    # Handler latency histogram.
    assert "# TYPE clubbot_handler_seconds histogram" in text
    assert 'clubbot_handler_seconds_bucket{le="0.01",type="text"} 0.0' in text
    assert 'clubbot_handler_seconds_bucket{le="0.025",type="text"} 1.0' in text
    assert 'clubbot_handler_seconds_count{type="text"} 1.0' in text
    # Duplicates dropped.
    assert "clubbot_duplicates_total 1.0" in text
    # API calls by result.
    send = 'clubbot_wechat_api_calls_total{endpoint="message/custom/send"'
    assert send + ',result="ok"} 1.0' in text
    assert send + ',result="45015"} 1.0' in text


async def test_each_app_has_its_own_metrics(
    settings: Settings, clock: FixedClock, store: Redis
) -> None:
    first = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(first)):
        first[DEPS].metrics.duplicates.inc()
    second = create_app(settings, clock=clock, store=store, create_schema=True)
    async with TestClient(TestServer(second)) as client:
        text = await (await client.get("/metrics")).text()
    assert "clubbot_duplicates_total 0.0" in text


async def test_a_burst_beyond_the_pool_waits_instead_of_failing(
    settings: Settings, redis_only: None
) -> None:
    """More commands in flight than the pool holds: the excess waits for a free connection.

    redis-py's default pool raised "Too many connections" here, and the callback answered 500.
    """
    from bot.kv import STORE_MAX_CONNECTIONS, open_store

    store = open_store(settings)
    try:
        # BLPOP on an empty list holds its connection for the whole timeout.
        burst = [
            store.blpop([f"{keys.prefix()}:test:burst:{n}"], timeout=0.2)
            for n in range(STORE_MAX_CONNECTIONS + 50)
        ]
        assert await asyncio.gather(*burst) == [None] * (STORE_MAX_CONNECTIONS + 50)
    finally:
        await store.aclose()
