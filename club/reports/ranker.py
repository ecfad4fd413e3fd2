"""Ranking an asked-for period in the background of a web process, so that no request waits.

The first 80/20 report of a period nobody has asked for that day ranks every customer of it
(`rankings.ranking_for`): 15-25 s at a million customers and ten million purchases on a 2-core
host, longer than a request should hold a browser tab, a proxy's timeout and a connection. So
the web process ranks in a task of its own and a request waits for it `wait` seconds at most: a
club of a few thousand members is ranked by then and answered at once; otherwise the request is
told to ask again (`RankingPending`: the API's 202 with Retry-After), the ranking goes on, and the
same period's next ask reads it.

However often a period is asked meanwhile, a process ranks it once; two processes asking at once
rank it once too (the ranking's unique key makes the second wait for the first and take its
ranking). A process that dies mid-ranking leaves nothing (the ranking is one transaction): the
next ask ranks again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime

from club.reports.filters import ReportFilter
from club.reports.rankings import Kept, ranking_for, rules_key
from club.rules.programme import ValueRules

log = logging.getLogger(__name__)

WAIT_SECONDS = 3.0
"""How long a request waits for a ranking before it is told to ask again: a report must answer
within 5 s, and reading the ranking after it takes the rest."""
RETRY_AFTER_SECONDS = 5
"""When to ask again: a year of ten million purchases ranks in 15-25 s, so a few asks."""


class RankingPending(Exception):
    """The period is being ranked, longer than a request waits: ask again after `retry_after`
    seconds (then it is read, or still pending)."""

    def __init__(self, start_day: date, end_day: date, started_at: datetime) -> None:
        super().__init__(f"ranking the customers of {start_day}..{end_day}")
        self.start_day = start_day
        self.end_day = end_day
        self.started_at = started_at
        self.retry_after = RETRY_AFTER_SECONDS


@dataclass
class _Run:
    task: asyncio.Task[Kept | None]
    started_at: datetime


class Ranker:
    """The rankings one process has in flight (one per web app; `close` at shutdown)."""

    def __init__(self, wait: float = WAIT_SECONDS) -> None:
        self.wait = wait
        self._runs: dict[tuple[date, date, str, date], _Run] = {}

    async def ranking_for(self, flt: ReportFilter, rules: ValueRules, now: datetime) -> Kept | None:
        """`rankings.ranking_for`, waiting at most `wait` seconds for a ranking to be made;
        raises `RankingPending` when it takes longer."""
        if flt.store is not None:
            return None  # a store's purchases are ranked live, from their index
        key = (flt.start_day, flt.end_day, rules_key(rules), flt.today)
        run = self._runs.get(key)
        if run is None:
            run = _Run(asyncio.create_task(ranking_for(flt, rules, now)), now)
            self._runs[key] = run
            run.task.add_done_callback(lambda _: self._finished(key, run))
        try:
            # shield: a request that gives up (or whose client goes) leaves the ranking running
            return await asyncio.wait_for(asyncio.shield(run.task), self.wait)
        except TimeoutError:
            raise RankingPending(flt.start_day, flt.end_day, run.started_at) from None

    @property
    def in_flight(self) -> int:
        return len(self._runs)

    def _finished(self, key: tuple[date, date, str, date], run: _Run) -> None:
        if self._runs.get(key) is run:
            del self._runs[key]
        if run.task.cancelled():
            return
        failed = run.task.exception()  # retrieved here, whether or not a request waited
        if failed is not None:
            log.error(
                "ranking %s..%s failed; the next ask ranks again",
                key[0],
                key[1],
                exc_info=failed,
            )

    async def close(self) -> None:
        """Stop the rankings in flight (their transactions roll back)."""
        tasks = [run.task for run in self._runs.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
