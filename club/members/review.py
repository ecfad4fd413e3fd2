"""Fraud review: the members flagged by the bottle-code limits, with the evidence, and the admin's
decision: clear the flag, block the member, or lift a block.

A blocked member's status is `blocked`: they earn and redeem nothing (`club.rules.standing`),
greetings and messages skip them, and the chat tells them to contact the club. Lifting the block
gives them back the follow state they have (active, or unfollowed if they left meanwhile). Each
decision returns what happened, so the staff API can audit it and messaging can tell the member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.transactions import in_transaction

from club.codes.codegen import format_code
from club.db.models.catalog import BottleCode, FailedCodeAttempt
from club.db.models.members import Member, MemberStatus
from club.members.enrolment import MemberNotFound
from club.members.phone import mask_phone

log = logging.getLogger(__name__)

EVIDENCE_DAYS = 7
EVIDENCE_MAX = 50


class Decision(StrEnum):
    CLEAR = "clear"
    BLOCK = "block"
    UNBLOCK = "unblock"


@dataclass(frozen=True)
class CodeUse:
    code: str
    at: datetime
    points: int


@dataclass(frozen=True)
class FailedAttempt:
    at: datetime
    outcome: str
    """unknown, mistyped or used_by_other"""


@dataclass(frozen=True)
class ReviewCase:
    member_id: int
    masked_phone: str
    status: MemberStatus
    reason: str | None
    flagged_at: datetime | None
    codes_used: tuple[CodeUse, ...]
    """Codes the member redeemed in the last seven days, newest first (at most 50)."""
    codes_used_total: int
    failed_attempts: tuple[FailedAttempt, ...]
    """Codes that earned nothing, still kept (two days), newest first (at most 50)."""


@dataclass(frozen=True)
class ReviewOutcome:
    """What a decision did; `changed` is False for a repeat (nothing happened)."""

    member_id: int
    decision: Decision
    status: MemberStatus
    changed: bool


async def _case(member: Member, now: datetime) -> ReviewCase:
    since = now - timedelta(days=EVIDENCE_DAYS)
    used = BottleCode.filter(used_by_id=member.id, used_at__gte=since)
    codes = await used.order_by("-used_at", "-id").limit(EVIDENCE_MAX)
    failed = await (
        FailedCodeAttempt.filter(member_id=member.id).order_by("-at", "-id").limit(EVIDENCE_MAX)
    )
    return ReviewCase(
        member.id, mask_phone(member.phone), MemberStatus(member.status), member.flag_reason,
        member.flagged_at,
        tuple(CodeUse(format_code(c.code), c.used_at or since, c.points) for c in codes),
        await used.count(), tuple(FailedAttempt(f.at, f.outcome) for f in failed),
    )  # fmt: skip


async def flagged_members(now: datetime) -> list[ReviewCase]:
    """Members waiting for a review, most recently flagged first."""
    members = (
        await Member.filter(flagged_for_review=True)
        .exclude(status=MemberStatus.DELETED)
        .order_by("-flagged_at", "-id")
    )
    return [await _case(m, now) for m in members]


async def review_case(member_id: int, now: datetime) -> ReviewCase:
    member = await Member.get_or_none(id=member_id)
    if member is None or member.status == MemberStatus.DELETED:
        raise MemberNotFound(member_id)
    return await _case(member, now)


def _follow_state(member: Member) -> MemberStatus:
    left = member.unfollowed_at is not None and (
        member.followed_at is None or member.unfollowed_at > member.followed_at
    )
    return MemberStatus.UNFOLLOWED if left else MemberStatus.ACTIVE


async def decide(member_id: int, decision: Decision, now: datetime) -> ReviewOutcome:
    """Clear the flag, block or unblock the member. A block clears the flag too (the review is
    done); a repeat changes nothing."""
    async with in_transaction() as conn:
        member = await Member.select_for_update().using_db(conn).get_or_none(id=member_id)
        if member is None or member.status == MemberStatus.DELETED:
            raise MemberNotFound(member_id)
        blocked = member.status == MemberStatus.BLOCKED
        changes: dict[str, object] = {}
        if decision is Decision.CLEAR and member.flagged_for_review:
            changes = {"flagged_for_review": False}
        elif decision is Decision.BLOCK and not blocked:
            changes = {"status": MemberStatus.BLOCKED, "blocked_at": now,
                       "flagged_for_review": False}  # fmt: skip
        elif decision is Decision.UNBLOCK and blocked:
            changes = {"status": _follow_state(member), "blocked_at": None}
        if changes:
            await Member.filter(id=member_id).using_db(conn).update(**changes, updated_at=now)
        new_status = changes.get("status", member.status)
        status = MemberStatus(str(new_status))
    if changes:
        log.info("member review member=%d decision=%s", member_id, decision.value)
    return ReviewOutcome(member_id, decision, status, bool(changes))
