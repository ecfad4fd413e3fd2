"""A member's tier floor, set by staff: the monthly review never takes the member below it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.members import member_or_404, member_out, require_joined
from bot.staff_api.schemas import ONE_LINE, In, MemberOut
from club.staff.accounts import Permission
from club.tiers.service import set_tier_floor

TierCode = Annotated[str, Field(min_length=1, max_length=32)]


class TierFloorIn(In):
    # Required even when null: a body that forgets the field must not clear a floor by accident.
    tier: TierCode | None = Field(
        description="A tier code of the programme; null clears the floor (the tier stays until "
        "the next review)"
    )
    reason: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] = Field(
        description="Why; kept in the audit log"
    )


async def put_tier_floor(call: Call) -> MemberOut:
    member = await member_or_404(call.path["id"])
    require_joined(member, "tier floors")
    body = call.body_as(TierFloorIn)
    programme = call.deps.programme
    codes = programme.tiers.codes
    if body.tier is not None and body.tier not in codes:
        raise ApiError(
            422,
            "invalid",
            f"tier: unknown tier code {body.tier!r}; must be one of {', '.join(codes)} or null",
            fields=["tier"],
        )
    change = await set_tier_floor(
        member.id,
        body.tier,
        actor_id=call.staff.id,
        now=call.now,
        programme=programme,
        outbox=call.deps.outbox,
    )
    # The audit row says what the request did, including a cleared floor (null is otherwise
    # left out of the summary) and whether anything changed at all (a repeat changes nothing).
    call.summary.update(
        tier=body.tier,
        floor_before=change.floor_before,
        floor_after=change.floor_after,
        tier_before=change.tier_before,
        tier_after=change.tier_after,
        lifted_to=change.lift.to_tier if change.lift is not None else None,
        changed=change.changed,
    )
    return await member_out(call, member)


ENDPOINTS = [
    Endpoint(
        method="PUT",
        path="/api/v1/members/{id}/tier-floor",
        view=put_tier_floor,
        operation_id="setMemberTierFloor",
        summary="Set or clear a member's tier floor",
        description=(
            "The monthly review never takes the member below the floor; a member below it is "
            "lifted to it at once and congratulated as the review would. `tier: null` clears "
            "the floor (the tier itself stays until the next review). Audited with the reason. "
            "Setting the floor the member already has changes nothing and answers the same. "
            "Answers the member as `GET /api/v1/members/{id}` does."
        ),
        permission=Permission.SET_TIER_FLOOR,
        body=TierFloorIn,
        response=MemberOut,
        errors={
            404: "No such member",
            409: "The member has not joined the club",
            422: "Invalid input, or a tier code the programme does not have (the message "
            "names the allowed codes)",
        },
        audit="tier.floor",
    ),
]
