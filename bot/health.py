"""Operational routes: liveness, readiness and Prometheus metrics.

- `GET /healthz`: the process serves HTTP (no dependency checked, so a database outage does not
  make an orchestrator kill every worker). Answers the worker's pid, which shows which of several
  `--workers` processes answered.
- `GET /readyz`: the database answers a trivial query and the store answers PING, each within
  `CHECK_TIMEOUT_S`; otherwise 503 naming the one that failed.
- `GET /metrics`: the metrics in the Prometheus text format: this process's, or with several
  workers the sum over all of them (each scrape lands on one worker at random, so a per-worker
  answer would jump back and forth).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

# The body generate_latest() writes is the 0.0.4 text format; say so (not CONTENT_TYPE_LATEST).
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import RedisError
from tortoise import Tortoise

from bot.deps import DEPS
from bot.jsontext import json_response
from bot.metrics import render_campaigns, render_deliveries

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0

MULTIPROCESS_DIR = web.AppKey("metrics_multiprocess_dir", str)
"""Set by `bot.serve` when workers share the port: the folder where every worker's metric values
live (prometheus_client's multiprocess mode, switched on by PROMETHEUS_MULTIPROC_DIR)."""

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "pid": os.getpid()})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    deps = request.app[DEPS]

    async def database() -> None:
        await Tortoise.get_connection("default").execute_query("SELECT 1")

    async def store() -> None:
        await deps.store.ping()

    results = dict(
        zip(
            ("database", "store"),
            await asyncio.gather(_check("database", database), _check("store", store)),
            strict=True,
        )
    )
    ready = all(result == "ok" for result in results.values())
    return json_response(
        {"status": "ready" if ready else "not ready", "checks": results},
        status=200 if ready else 503,
    )


async def _check(name: str, probe: Callable[[], Awaitable[None]]) -> str:
    """Return "ok" or a short reason; the exception text goes to the log (it may name hosts)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await probe()
    except TimeoutError:
        log.warning("readiness check timed out", extra={"check": name})
        return "timeout"
    except Exception as exc:  # any failure of a dependency means "not ready", never a 500
        log.warning("readiness check failed", extra={"check": name, "error": repr(exc)})
        return "error"
    return "ok"


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    directory = request.app.get(MULTIPROCESS_DIR)
    if directory is None:
        body = request.app[DEPS].metrics.render()
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    # With the store down /readyz says so; the process's own metrics still answer.
    with contextlib.suppress(RedisError):
        body += await render_deliveries(request.app[DEPS].store)
    try:
        body += await render_campaigns()
    except Exception:  # the database down: /readyz says so; the rest still answers
        log.warning("campaign metrics not read")
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
