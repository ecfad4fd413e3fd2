"""The reward catalogue: list it, add to it."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.schemas import RewardIn, RewardList, RewardOut
from club.rewards import redemptions as rewards
from club.staff.accounts import Permission


async def list_rewards(call: Call) -> RewardList:
    catalogue = await rewards.list_catalogue()
    return RewardList(rewards=[RewardOut.model_validate(r) for r in catalogue])


async def create_reward(call: Call) -> RewardOut:
    body = call.body_as(RewardIn)
    view = await rewards.create_reward(
        body.name,
        body.points_cost,
        call.now,
        call.deps.programme,
        description=body.description,
        stock=body.stock,
        min_tier=body.min_tier,
        per_member_limit=body.per_member_limit,
        active_from=body.active_from,
        active_until=body.active_until,
        cancel_window_hours=body.cancel_window_hours,
        ref=body.ref,
    )
    call.target = f"reward:{view.id}"
    return RewardOut.model_validate(view)


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/rewards",
        view=list_rewards,
        operation_id="listRewards",
        summary="List the reward catalogue",
        permission=Permission.READ_REWARDS,
        response=RewardList,
    ),
    Endpoint(
        method="POST",
        path="/api/v1/rewards",
        view=create_reward,
        operation_id="createReward",
        summary="Add a reward to the catalogue",
        permission=Permission.MANAGE_REWARDS,
        body=RewardIn,
        response=RewardOut,
        status=201,
        description=(
            "Send `ref` to make a retry harmless: the same ref with the same reward returns the "
            "first reward; with other values it is refused (409)."
        ),
        errors={409: "The ref was already used for a reward with other values"},
        audit="reward.create",
    ),
]
