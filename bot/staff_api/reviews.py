"""Fraud review for admins: the flagged members with their evidence; clear, block, unblock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.schemas import ONE_LINE, In, Out
from club.members import review
from club.members.records import member_number
from club.staff.accounts import Permission


class CodeUseOut(Out):
    code: str
    at: datetime
    points: int


class FailedAttemptOut(Out):
    at: datetime
    outcome: str = Field(description="unknown, mistyped or used_by_other")


class ReviewCaseOut(Out):
    member_id: int
    member_number: str
    phone: str = Field(description="Masked (138****5678)")
    status: str
    reason: str | None = Field(description="Why the member was flagged")
    flagged_at: datetime | None
    codes_used: list[CodeUseOut] = Field(description="Codes redeemed in the last 7 days (50 max)")
    codes_used_total: int
    failed_attempts: list[FailedAttemptOut] = Field(description="Codes that earned nothing")


class ReviewList(Out):
    members: list[ReviewCaseOut]


class ReviewIn(In):
    decision: review.Decision = Field(
        description="clear: nothing wrong; block: the member earns and redeems nothing and is "
        "told to contact the club; unblock: lift a block"
    )
    reason: Annotated[str, Field(min_length=2, max_length=200), ONE_LINE] = Field(
        description="Why; kept in the audit log"
    )


class ReviewOutcomeOut(Out):
    member_id: int
    decision: review.Decision
    status: str
    changed: bool = Field(description="False: the member was already so (nothing changed)")


def _case(case: review.ReviewCase) -> ReviewCaseOut:
    return ReviewCaseOut(
        member_id=case.member_id, member_number=member_number(case.member_id),
        phone=case.masked_phone, status=case.status.value, reason=case.reason,
        flagged_at=case.flagged_at,
        codes_used=[CodeUseOut.model_validate(c) for c in case.codes_used],
        codes_used_total=case.codes_used_total,
        failed_attempts=[FailedAttemptOut.model_validate(f) for f in case.failed_attempts],
    )  # fmt: skip


async def list_flagged(call: Call) -> ReviewList:
    return ReviewList(members=[_case(c) for c in await review.flagged_members(call.now)])


async def get_case(call: Call) -> ReviewCaseOut:
    return _case(await review.review_case(call.path["id"], call.now))


async def decide(call: Call) -> ReviewOutcomeOut:
    body = call.body_as(ReviewIn)
    outcome = await review.decide(call.path["id"], body.decision, call.now)
    call.summary.update(changed=outcome.changed, status=outcome.status.value)
    # A block is what the member hears of in chat (any earning or redeeming is refused with the
    # club's contact); the outcome is also the event an announcement can be made from.
    return ReviewOutcomeOut(
        member_id=outcome.member_id, decision=outcome.decision, status=outcome.status.value,
        changed=outcome.changed,
    )  # fmt: skip


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/reviews",
        view=list_flagged,
        operation_id="listReviews",
        summary="List the members flagged for review, with the reason and the evidence",
        permission=Permission.REVIEW_MEMBERS,
        response=ReviewList,
        audit="review.list",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/members/{id}/review",
        view=get_case,
        operation_id="getReview",
        summary="Read one member's review: reason and evidence",
        permission=Permission.REVIEW_MEMBERS,
        response=ReviewCaseOut,
        errors={404: "No such member"},
        audit="member.review_read",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/members/{id}/review",
        view=decide,
        operation_id="decideReview",
        summary="Clear a member's flag, block or unblock them",
        description=(
            "A blocked member earns nothing (purchases are refused with 409, codes and check-ins "
            "earn nothing) and redeems nothing, and the chat tells them to contact the club; "
            "following again does not lift it. Audited with the reason."
        ),
        permission=Permission.REVIEW_MEMBERS,
        body=ReviewIn,
        response=ReviewOutcomeOut,
        errors={404: "No such member"},
        audit="member.review",
    ),
]
