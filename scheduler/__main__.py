"""`python -m scheduler`: the scheduler process, queue workers, and one-off job runs.

    python -m scheduler                               run the scheduler (any number of hosts)
    python -m scheduler worker                        a queue worker sending outbox messages
    python -m scheduler run JOB [--date YYYY-MM-DD] [--dry-run]
                                                      run one job for one day, print what it did

A date after today is refused unless `--dry-run` is given; a dry run prints what the job would
queue and give and changes nothing (it runs in a transaction that is rolled back, and hands
nothing to the senders).

Exit codes: 0 done (or already done), 1 the job failed, 2 bad usage or configuration, 3 another
process is running that job for that day right now.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from bot.logs import setup_logging
from bot.schedule import JOBS
from club.clock import SystemClock
from club.db.models.jobs import RunStarter
from config import ConfigError, Settings
from scheduler.runner import Outcome

log = logging.getLogger("scheduler")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scheduler", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("worker", help="a queue worker that sends greeting and campaign messages")
    run = commands.add_parser("run", help="run one job for one day now and print what it did")
    run.add_argument("job", choices=JOBS, metavar="JOB", help=f"one of: {', '.join(JOBS)}")
    run.add_argument("--date", type=date.fromisoformat, help="the day (default: today, CLUB_TZ)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print what the job would queue and give, change nothing (any date)",
    )
    run.add_argument(
        "--lock-ttl", type=int, default=None, metavar="SECONDS", help=argparse.SUPPRESS
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        # The server's logging: key=value lines, secrets, tokens and phone numbers masked.
        setup_logging(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        today = SystemClock(settings.tz).now().date()
        if args.date is not None and args.date > today and not args.dry_run:
            print(
                f"{args.job} for {args.date} is in the future (today is {today} in "
                f"{settings.club_tz}): refused; add --dry-run to see what it would do",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if args.dry_run:
            return asyncio.run(_dry_run(settings, args.job, args.date))
        return asyncio.run(_run(settings, args.job, args.date, args.lock_ttl))
    if args.command == "worker":
        if not settings.redis_url:
            print(
                "the queue worker needs REDIS_URL (embedded mode sends in-process)", file=sys.stderr
            )
            return EXIT_USAGE
        asyncio.run(_worker(settings))
        return 0
    asyncio.run(_scheduler(settings))
    return 0


async def _run(settings: Settings, job: str, day: date | None, lock_ttl: int | None) -> int:
    from scheduler.app import runtime

    async with runtime(settings) as rt:
        day = day or rt.clock.now().date()
        result = await rt.run_job(job, day, by=RunStarter.HAND, lock_ttl_s=lock_ttl)
    print(result.describe())
    if result.outcome is Outcome.FAILED:
        return EXIT_FAILED
    return EXIT_BUSY if result.outcome is Outcome.BUSY else 0


async def _dry_run(settings: Settings, job: str, day: date | None) -> int:
    from club.db.tx import rolled_back
    from club.messaging.outbox import Outbox
    from scheduler.app import runtime
    from scheduler.jobs import JobContext, job_body

    async with runtime(settings) as rt:
        day = day or rt.clock.now().date()
        # No feed: what it records is not handed to the senders, and the transaction is undone.
        ctx = JobContext(
            programme=rt.programme,
            clock=rt.clock,
            outbox=Outbox(rt.programme),
            campaigns=replace(rt.deps.campaigns, feed=None),
        )
        async with rolled_back():
            counts = dict(await job_body(job, ctx)(day))
    shown = " ".join(f"{k}={v}" for k, v in counts.items()) or "nothing"
    print(f"{job} {day.isoformat()}: dry run, nothing changed; it would do: {shown}")
    return 0


async def _scheduler(settings: Settings) -> None:
    from scheduler.app import runtime, serve

    log.info("scheduler starting: %s", settings.describe())
    async with runtime(settings) as rt:
        await serve(rt, _stop_on_signals())


async def _worker(settings: Settings) -> None:
    from taskiq.api import run_receiver_task

    from scheduler.app import runtime
    from scheduler.worker import requeue_owed

    log.info("worker starting: %s", settings.describe())
    async with runtime(settings) as rt:
        rt.broker.is_worker_process = True
        feed = rt.deps.outbox.feed
        assert feed is not None  # REDIS_URL is set: the queue's feeder

        async def owed() -> int:
            return await requeue_owed(rt.store, feed, rt.clock.now())

        rt.broker.on_recovered = owed
        await rt.broker.recover()  # what a lost queue left owed before this worker started
        receiver = asyncio.create_task(run_receiver_task(rt.broker, max_async_tasks=4))
        await _stop_on_signals().wait()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


if __name__ == "__main__":
    sys.exit(main())
