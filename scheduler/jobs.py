"""The scheduled jobs: thin wrappers over club services, one day at a time.

Each job takes the day it is for and returns counts of what it did; `scheduler.runner` makes
sure each (job, day) runs once. `churn-scan` and `campaigns` are named by the contract but belong
to later work (segments and campaigns): asking for them is refused, clearly, not faked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from club.clock import Clock
from club.codes.bottle import prune_failed_attempts
from club.db.models.ledger import PointsLot
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.greetings.service import Queued, greet_birthdays, greet_festivals, ledger_gifts
from club.messaging.plan import Channel, Plan, delivery_rules, plan_delivery
from club.messaging.window import member_contact
from club.points.expiry import expire_due, expiring_soon
from club.programme import Programme
from club.tiers.service import review_tier

log = logging.getLogger(__name__)

JOBS = ("birthday", "festival", "expire-points", "tier-review", "churn-scan", "campaigns")
NOT_YET_AVAILABLE = {
    "churn-scan": "churn-scan is not yet available: it arrives with customer value management",
    "campaigns": "campaigns is not yet available: it arrives with segments and campaigns",
}
BATCH = 500

JobBody = Callable[[date], Awaitable[Mapping[str, int]]]


class JobUnavailable(LookupError):
    """The job is named by the contract but not part of this release."""


@dataclass(frozen=True)
class JobContext:
    programme: Programme
    clock: Clock
    queued: Queued | None = None
    """Hands the ids of due outbox rows to the sending workers (None: they find them later)."""


def job_body(name: str, ctx: JobContext) -> JobBody:
    if name in NOT_YET_AVAILABLE:
        raise JobUnavailable(NOT_YET_AVAILABLE[name])
    bodies: dict[str, JobBody] = {
        "birthday": lambda day: _birthday(day, ctx),
        "festival": lambda day: _festival(day, ctx),
        "expire-points": lambda day: _expire_points(day, ctx),
        "tier-review": lambda day: _tier_review(day, ctx),
    }
    try:
        return bodies[name]
    except KeyError:
        raise LookupError(f"unknown job {name!r} (known: {', '.join(JOBS)})") from None


async def _birthday(day: date, ctx: JobContext) -> Mapping[str, int]:
    gifts = ledger_gifts(ctx.programme)
    return await greet_birthdays(
        day, programme=ctx.programme, now=ctx.clock.now(), gifts=gifts, queued=ctx.queued
    )


async def _festival(day: date, ctx: JobContext) -> Mapping[str, int]:
    gifts = ledger_gifts(ctx.programme)
    return await greet_festivals(
        day, programme=ctx.programme, now=ctx.clock.now(), gifts=gifts, queued=ctx.queued
    )


async def _expire_points(day: date, ctx: JobContext) -> Mapping[str, int]:
    """Expire lots past their date, then remind members whose points expire soon; and delete
    the failed bottle-code attempts too old to count (the daily clean-up of expired things)."""
    now = ctx.clock.now()
    run = await expire_due(now)
    reminded = await _remind_expiring(now, ctx)
    pruned = await prune_failed_attempts(now)
    return {
        "lots": run.lots,
        "points": run.points,
        "members": run.members,
        **reminded,
        "failed_code_attempts_deleted": pruned,
    }


async def _remind_expiring(now: datetime, ctx: JobContext) -> dict[str, int]:
    """One reminder per member and expiry date, `reminder_days` before (key expiry:<m>:<day>)."""
    days = ctx.programme.expiry.reminder_days
    rules = delivery_rules(ctx.programme)
    counts = {"reminders": 0, "reminders_skipped": 0}
    last = 0
    while True:
        member_ids: list[Any] = (
            await PointsLot.filter(
                remaining__gt=0,
                expires_at__gt=now,
                expires_at__lte=now + timedelta(days=days),
                member_id__gt=last,
            )
            .order_by("member_id")
            .distinct()
            .limit(BATCH)
            .values_list("member_id", flat=True)
        )
        if not member_ids:
            return counts
        last = int(member_ids[-1])
        members = await Member.filter(id__in=member_ids, status=MemberStatus.ACTIVE)
        for member in members:
            for soon in await expiring_soon(member.id, now, days):
                key = f"expiry:{member.id}:{soon.expires_on.isoformat()}"
                contact = await member_contact(member, rules, now)
                plan = plan_delivery(contact, "points_expiry", rules, now)
                text = _expiry_text(member.language, soon.points, soon.expires_on, ctx.programme)
                created = await _record(member, key, "points_expiry", text, plan, ctx, now)
                counts["reminders" if plan.sendable else "reminders_skipped"] += created


async def _tier_review(day: date, ctx: JobContext) -> Mapping[str, int]:
    """Review every enrolled member's tier; tell those who move, kindly."""
    now = ctx.clock.now()
    rules = delivery_rules(ctx.programme)
    counts = {"reviewed": 0, "upgraded": 0, "downgraded": 0}
    last = 0
    while True:
        ids: list[Any] = (
            await Member.filter(joined_at__isnull=False, id__gt=last)
            .order_by("id")
            .limit(BATCH)
            .values_list("id", flat=True)
        )
        if not ids:
            return counts
        last = int(ids[-1])
        for member_id in ids:
            counts["reviewed"] += 1
            # The change and its message commit together: a run stopped between the two would
            # leave a moved member untold, and the re-run would see no change to tell.
            async with in_transaction():
                change = await review_tier(int(member_id), now, ctx.programme)
                if change is None:
                    continue
                member = await Member.get(id=member_id)
                contact = await member_contact(member, rules, now)
                plan = plan_delivery(contact, "tier_change", rules, now)
                text = _tier_text(member.language, change.to_tier, change.upgrade, ctx.programme)
                key = f"tier:{member.id}:{day.isoformat()}"
                row, created = await _outbox_row(member, key, "tier_change", text, plan, now)
            counts["upgraded" if change.upgrade else "downgraded"] += 1
            await _hand_over(row, created, plan, ctx)  # after the commit: workers can see it


async def _record(
    member: Member, key: str, kind: str, text: str, plan: Plan, ctx: JobContext, now: datetime
) -> int:
    """One outbox row for this key (1 if new); due rows are handed to the workers."""
    row, created = await _outbox_row(member, key, kind, text, plan, now)
    await _hand_over(row, created, plan, ctx)
    return int(created)


async def _outbox_row(
    member: Member, key: str, kind: str, text: str, plan: Plan, now: datetime
) -> tuple[OutboxMessage, bool]:
    """The outbox row for this key, made now unless it exists (created: True)."""
    data = {"title": kind, "content": text, "date": now.date().isoformat()}
    if plan.channel is Channel.TEMPLATE and plan.template_id:
        payload: dict[str, Any] = {
            "msgtype": "template",
            "template_id": plan.template_id,
            "data": data,
            "url": None,
        }
    else:
        payload = {"msgtype": "text", "text": text}
    row, created = await OutboxMessage.get_or_create(
        idempotency_key=key,
        defaults={
            "openid": member.openid,
            "member_id": member.id,
            "kind": kind,
            "channel": plan.channel or Channel.CUSTOM,
            "payload": payload,
            "status": "queued" if plan.sendable else "skipped",
            "last_error": plan.skipped,
            "not_before": plan.not_before,
        },
    )
    return row, created


async def _hand_over(row: OutboxMessage, created: bool, plan: Plan, ctx: JobContext) -> None:
    """A new row due now goes to the sending workers (later ones are found when due)."""
    if created and plan.sendable and plan.not_before is None and ctx.queued is not None:
        await ctx.queued([row.id])


def _expiry_text(language: str, points: int, last_day: date, programme: Programme) -> str:
    return programme.messages.points_expiry.render(
        language,
        points=points,
        date=last_day.isoformat(),
        year=last_day.year,
        month=last_day.month,
        day=last_day.day,
    )


def _tier_text(language: str, tier_code: str, upgrade: bool, programme: Programme) -> str:
    tier = programme.tiers.get(tier_code)
    name = tier.name_en if language == "en" else tier.name_zh
    messages = programme.messages
    if upgrade:
        return messages.tier_upgrade.render(language, tier=name)
    text = messages.tier_downgrade.render(language, tier=name)
    above = programme.tiers.above(tier_code)
    if above is None:
        return text
    regain = messages.tier_regain.render(
        language,
        tier=above.name_en if language == "en" else above.name_zh,
        amount=above.threshold_fen // 100,
        months=programme.tier_review.months,
    )
    # English sentences are separated by a space; Chinese ones follow on directly.
    return f"{text} {regain}" if language == "en" else text + regain
