"""A member's points: the ledger with every movement's reason, and staff adjustments."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.members import member_or_404, require_joined
from bot.staff_api.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    LedgerEntryOut,
    LedgerOut,
    LedgerQuery,
)
from club.points.adjustments import adjust_and_tell
from club.points.views import movements
from club.rules.expiry import expires_at
from club.staff.accounts import Permission


async def ledger(call: Call) -> LedgerOut:
    member = await member_or_404(call.path["id"])
    query = call.query_as(LedgerQuery)
    rows = await movements(member.id, limit=query.limit, before_id=query.before_id)
    return LedgerOut(
        member_id=member.id,
        balance=member.points_balance,
        debt=member.points_debt,
        entries=[
            LedgerEntryOut(
                id=r.id,
                kind=str(r.kind),
                points=r.points,
                reason=r.reason,
                ref=r.ref,
                at=r.created_at,
                expires_at=r.expires_at,
            )
            for r in rows
        ],
    )


async def adjust(call: Call) -> AdjustmentOut:
    member = await member_or_404(call.path["id"])
    require_joined(member)
    body = call.body_as(AdjustmentIn)
    programme = call.deps.programme
    programme.limits.check_credit(body.points)  # AboveLimit: 422 naming the limit
    # Points given by hand follow the programme's expiry like any earned points.
    expiry = expires_at(call.now, programme.expiry) if body.points > 0 else None
    movement = await adjust_and_tell(
        member.id,
        body.points,
        body.reason,
        actor_id=call.staff.id,
        now=call.now,
        programme=programme,
        outbox=call.deps.outbox,
        ref=body.ref,
        expires_at=expiry,
    )
    call.summary["entry_id"] = movement.entry_id
    call.summary["balance_after"] = movement.balance_after
    return AdjustmentOut(
        member_id=member.id,
        points=movement.points,
        ref=movement.ref.removeprefix("adjust:"),
        balance=movement.balance_after,
        debt=movement.debt_after,
    )


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/members/{id}/ledger",
        view=ledger,
        operation_id="getMemberLedger",
        summary="Read a member's points movements, newest first, each with its reason",
        permission=Permission.READ_LEDGER,
        query=LedgerQuery,
        response=LedgerOut,
        audit="ledger.read",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/members/{id}/adjustments",
        view=adjust,
        operation_id="adjustMemberPoints",
        summary="Adjust a member's points",
        description=(
            "Adds (positive) or takes away (negative) points with a reason; audited. A negative "
            "adjustment larger than the balance is refused (409), a credit above the programme's "
            "limits.max_credit_points too (422). Send `ref` to make a retry harmless: the same "
            "ref returns the first adjustment."
        ),
        permission=Permission.ADJUST_POINTS,
        body=AdjustmentIn,
        response=AdjustmentOut,
        status=201,
        errors={
            404: "No such member",
            409: "Not enough points, the ref was used for another adjustment, or the member "
            "has not joined the club",
        },
        audit="points.adjust",
    ),
]
