"""The scheduled jobs: thin wrappers over club services, one day at a time.

Each job takes the day it is for and returns counts of what it did; `scheduler.runner` makes
sure each (job, day) runs once. Messages go through the process's outbox, which hands the due
ones to the sending workers as they are recorded. `value-refresh` stores every member's RFM
scores, class and quadrant; `churn-scan` (after it) refreshes the churn list; `rank-ahead` (before
them) ranks the report periods staff will ask for, so that their 80/20 reports answer at once
(`club.reports.ahead`). `automations` starts the day's run of every active automation now (the
scheduler's half-minute tick starts each at its own time of day).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.schedule import JOBS
from club.campaigns.automations import run_automations
from club.campaigns.context import CampaignContext
from club.clock import Clock
from club.codes.bottle import prune_failed_attempts
from club.greetings.service import greet_birthdays, greet_festivals, ledger_gifts
from club.messaging.outbox import Outbox
from club.points.expiry import expire_due
from club.points.reminders import remind_expiring
from club.programme import Programme
from club.reports.ahead import rank_ahead
from club.rewards.voucher_expiry import expire_vouchers
from club.sales.counter import lapse_counter_purchases
from club.tiers.service import review_all
from club.value.churn import scan_churn
from club.value.refresh import refresh_values

log = logging.getLogger(__name__)

JobBody = Callable[[date], Awaitable[Mapping[str, int]]]


@dataclass(frozen=True)
class JobContext:
    programme: Programme
    clock: Clock
    outbox: Outbox
    campaigns: CampaignContext | None = None
    """Needed by `automations` only."""


def job_body(name: str, ctx: JobContext) -> JobBody:
    bodies: dict[str, JobBody] = {
        "birthday": lambda day: _birthday(day, ctx),
        "festival": lambda day: _festival(day, ctx),
        "expire-points": lambda day: _expire_points(day, ctx),
        "tier-review": lambda day: review_all(day, ctx.clock.now(), ctx.programme, ctx.outbox),
        "rank-ahead": lambda day: rank_ahead(day, ctx.clock.now(), ctx.programme),
        "value-refresh": lambda day: refresh_values(day, ctx.clock.now(), ctx.programme),
        "churn-scan": lambda day: scan_churn(day, ctx.clock.now(), ctx.programme),
        "automations": lambda day: _automations(day, ctx),
    }
    try:
        return bodies[name]
    except KeyError:
        raise LookupError(f"unknown job {name!r} (known: {', '.join(JOBS)})") from None


async def _birthday(day: date, ctx: JobContext) -> Mapping[str, int]:
    return await greet_birthdays(
        day,
        programme=ctx.programme,
        now=ctx.clock.now(),
        gifts=ledger_gifts(ctx.programme),
        outbox=ctx.outbox,
    )


async def _festival(day: date, ctx: JobContext) -> Mapping[str, int]:
    return await greet_festivals(
        day,
        programme=ctx.programme,
        now=ctx.clock.now(),
        gifts=ledger_gifts(ctx.programme),
        outbox=ctx.outbox,
    )


async def _automations(day: date, ctx: JobContext) -> Mapping[str, int]:
    if ctx.campaigns is None:
        raise RuntimeError("the automations job needs the campaign services")
    return await run_automations(ctx.campaigns, day, ctx.clock.now(), on_time=False)


async def _expire_points(day: date, ctx: JobContext) -> Mapping[str, int]:
    """The daily clean-up of expired things: expire lots past their date; expire vouchers not
    used in time (their members told); then remind members whose points expire soon (after the
    vouchers: their points come back to the lots they were taken from, which may expire soon);
    lapse the counter purchases nobody joined for (their phone numbers erased); delete the
    failed bottle-code attempts too old to count."""
    now = ctx.clock.now()
    run = await expire_due(now)
    vouchers = await expire_vouchers(now, ctx.programme, ctx.outbox)
    reminded = await remind_expiring(now, ctx.programme, ctx.outbox)
    lapsed = await lapse_counter_purchases(now)
    pruned = await prune_failed_attempts(now)
    return {
        "lots": run.lots,
        "points": run.points,
        "members": run.members,
        **reminded,
        "vouchers_expired": len(vouchers),
        "voucher_points_returned": sum(v.points_returned for v in vouchers),
        "counter_purchases_lapsed": lapsed,
        "failed_code_attempts_deleted": pruned,
    }
