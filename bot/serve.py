"""Run the HTTP service: one process, or N worker processes sharing the port.

- Each process runs its own event loop (uvloop where available) and its own app; with
  `workers > 1` every worker binds the same port with SO_REUSEPORT and the kernel spreads
  connections over them. Measured on this kind of machine: two processes this way serve about
  twice what one does, clearly more than gunicorn's worker model (STACK-NOTES.md).
- Several workers need the shared servers: the in-process store is one process's memory (two
  workers would de-duplicate and lock separately) and SQLite locks under several writers. So
  `workers > 1` is refused without REDIS_URL or on SQLite.
- SIGTERM or SIGINT stops gracefully: stop accepting, finish requests in flight (WeChat gives up
  on an answer after 5 s, so `SHUTDOWN_TIMEOUT_S` is short), then close resources. The
  supervisor forwards the signal to its workers and exits once they all have.
- A worker that dies on its own stops the whole group with a non-zero exit, so the process
  manager (systemd, the container runtime) restarts a clean set rather than running short.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from multiprocessing.connection import wait
from pathlib import Path
from types import FrameType
from typing import Any

from aiohttp import web

from bot.app import BackgroundService
from bot.forwarded import AccessLog
from bot.health import MULTIPROCESS_DIR
from bot.limits import CappedSite, ServerLimits, bounded_reads
from bot.logs import setup_logging
from config import ConfigError, Settings

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 10.0
BACKLOG = 2048
DEFAULT_LIMITS = ServerLimits()


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse a worker count this configuration cannot serve correctly."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    if workers == 1:
        return
    if settings.redis_url is None:
        raise ConfigError(
            f"--workers {workers} is refused without REDIS_URL (the embedded default): the "
            "store is then in-process and serves one process only (de-duplication, locks and "
            "dialog state would split between workers). Set REDIS_URL and a PostgreSQL "
            "DATABASE_URL, or run one worker."
        )
    if is_sqlite(settings.database_url):
        raise ConfigError(
            f"--workers {workers} needs PostgreSQL: SQLite locks under several writing "
            "processes. Set DATABASE_URL=postgres://..., or run one worker."
        )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def prepare_sqlite_file(url: str) -> Path | None:
    """Create the folder of a SQLite database file (`sqlite://data/clubbot.sqlite3`)."""
    if not is_sqlite(url):
        return None
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    return file


def describe_start(
    settings: Settings, workers: int, background: Sequence[BackgroundService] = ()
) -> None:
    """The start-up lines: the mode, and in embedded mode that it is a demo."""
    services = ",".join(f"{s.__module__}.{s.__qualname__}" for s in background) or "none"
    log.info(
        "starting clubbot %s workers=%d in_process_services=%s",
        settings.describe(),
        workers,
        services,
    )
    if not settings.embedded:
        return
    demo = settings.credentials.demo_names()
    log.warning(
        "embedded demo: SQLite file %s, in-process store (one process only), outbox %s; %s",
        settings.database_url.removeprefix("sqlite://"),
        "dry-run (nothing is sent to WeChat)" if settings.dry_run else "live (messages go out)",
        f"{', '.join(demo)} are public demo values, not for production"
        if demo
        else "secrets are your own",
    )


AppFactory = Callable[..., web.Application]
"""`factory(settings, background=...)`: the whole web app (`clubbot.web.create_app`). A module
level function, so that spawned worker processes can be handed it."""


def serve(
    settings: Settings,
    factory: AppFactory,
    *,
    workers: int = 1,
    background: Sequence[BackgroundService] = (),
) -> int:
    """Serve until SIGTERM/SIGINT; return the process exit code.

    `background`: services started inside the single process (the scheduler in embedded mode);
    refused with several workers, where the scheduler runs as its own process.
    """
    check_workers(settings, workers)
    if background and workers > 1:
        raise ConfigError("in-process background services run with one worker only")
    prepare_sqlite_file(settings.database_url)
    describe_start(settings, workers, background)
    if workers == 1:
        return run_loop(serve_app(settings, factory, reuse_port=False, background=background))
    return supervise(settings, factory, workers)


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on uvloop (the asyncio loop where uvloop is not available)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on the platforms we deploy to
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


GC_YOUNG_THRESHOLD = 20_000


def settle_garbage_collector() -> None:
    """After start-up: move what start-up built (modules, models, the programme) out of the
    collector's sight, and collect the young generation less often.

    CPython's cyclic collector ran every 700 allocations and, at each full collection, walked
    every object the process holds. Measured under load on the callback: 0.54 s of collection
    in a run of about 16,000 messages (about 33 us a message, some 6% of the CPU), against
    0.07 s with this; p99 latency fell from about 105 to 65 ms. A message's work makes almost no
    reference cycles (about 5 objects per collection were found garbage), so collecting less
    often costs little memory. `gc.freeze` is what CPython documents for long-lived servers.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def serve_app(
    settings: Settings,
    factory: AppFactory,
    *,
    reuse_port: bool,
    background: Sequence[BackgroundService] = (),
    metrics_dir: str | None = None,
) -> int:
    app = factory(settings, background=background)
    if metrics_dir is not None:
        app[MULTIPROCESS_DIR] = metrics_dir
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        runner, _ = await start_serving(
            app, host=settings.host, port=settings.port, reuse_port=reuse_port
        )
    except Exception:
        log.exception("start-up failed", extra={"host": settings.host, "port": settings.port})
        return 1
    settle_garbage_collector()
    log.info("listening", extra={"host": settings.host, "port": settings.port})
    await stop.wait()
    log.info("stopping: finishing requests in flight")
    await runner.cleanup()
    log.info("stopped")
    return 0


async def start_serving(
    app: web.Application,
    *,
    host: str,
    port: int,
    reuse_port: bool,
    limits: ServerLimits = DEFAULT_LIMITS,
) -> tuple[web.AppRunner, CappedSite]:
    """Start `app` on host:port with the serving limits (bounded header and body reads, capped
    connections: `bot.limits`); the caller stops it with `runner.cleanup()`."""
    app.middlewares.insert(0, bounded_reads(limits))  # outermost: its deadline covers all
    # The access log writes a line per request (WeChat's query strings included, their
    # signatures masked by the log setup); it is there when debugging (LOG_LEVEL=DEBUG), not on
    # the hot path in production.
    access_log = logging.getLogger("aiohttp.access") if log.isEnabledFor(logging.DEBUG) else None
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=access_log,
        access_log_class=AccessLog,  # the client's address behind a trusted proxy
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        **limits.handler_options(),
    )
    try:
        await runner.setup()
        site = CappedSite(
            runner,
            host,
            port,
            max_connections=limits.max_connections,
            backlog=BACKLOG,
            reuse_port=reuse_port,
        )
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site


def _worker(settings: Settings, factory: AppFactory, metrics_dir: str) -> None:
    """Entry point of a worker process (spawned: a fresh interpreter, nothing inherited)."""
    # Ctrl-C reaches the whole process group; the supervisor turns it into one SIGTERM per
    # worker, so a worker still starting up does not die with a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(settings)
    raise SystemExit(
        run_loop(serve_app(settings, factory, reuse_port=True, metrics_dir=metrics_dir))
    )


def supervise(settings: Settings, factory: AppFactory, workers: int) -> int:
    """Start `workers` processes on one port; forward SIGTERM/SIGINT; wait for all of them."""
    # Metrics of all workers in one place, so /metrics on any of them adds up all. The variable
    # must be in the environment before a worker imports prometheus_client: set it here, the
    # spawned workers inherit it.
    metrics_dir = tempfile.mkdtemp(prefix="clubbot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        return _run_workers(settings, factory, workers, metrics_dir)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_workers(settings: Settings, factory: AppFactory, workers: int, metrics_dir: str) -> int:
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(
            target=_worker, args=(settings, factory, metrics_dir), name=f"clubbot-worker-{n}"
        )
        for n in range(1, workers + 1)
    ]
    stopping = False

    def stop_all(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.pid is not None and proc.exitcode is None:
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    for proc in procs:
        proc.start()
    log.info("workers started", extra={"pids": ",".join(str(p.pid) for p in procs)})

    failed = False
    running = list(procs)
    while running:
        ready = wait([proc.sentinel for proc in running])
        for proc in [p for p in running if p.sentinel in ready]:
            proc.join()
            running.remove(proc)
            # 0: stopped on a signal; -SIGTERM/-SIGINT: signalled before its handler was in place.
            if proc.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT):
                failed = True
                log.error(
                    "worker failed", extra={"worker_pid": proc.pid, "exitcode": proc.exitcode}
                )
            if not stopping:
                # The group stops together: a process manager restarts a complete set.
                log.warning("a worker stopped; stopping the others", extra={"worker_pid": proc.pid})
                stop_all()
    log.info("all workers stopped", extra={"failed": failed})
    return 1 if failed else 0
