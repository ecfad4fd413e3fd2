"""The reward catalogue: list it, add to it, edit or disable a reward, restock it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, model_validator

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.schemas import (
    MAX_POINTS,
    MULTI_LINE,
    ONE_LINE,
    In,
    RewardIn,
    RewardList,
    RewardOut,
    StrictAware,
)
from club.rewards import catalogue
from club.rewards import redemptions as rewards
from club.staff.accounts import Permission

NOT_NULL = ("name", "description", "points_cost", "cancel_window_hours", "enabled")


class RewardUpdateIn(In):
    name: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE] | None = None
    description: Annotated[str, Field(max_length=255), MULTI_LINE] | None = None
    points_cost: Annotated[StrictInt, Field(ge=1, le=MAX_POINTS)] | None = Field(
        default=None, description="Vouchers already issued keep the points they cost"
    )
    min_tier: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        default=None, description="null: every member may redeem it"
    )
    per_member_limit: Annotated[StrictInt, Field(ge=1, le=10**6)] | None = None
    active_from: StrictAware | None = None
    active_until: StrictAware | None = None
    cancel_window_hours: Annotated[StrictInt, Field(ge=0, le=24 * 90)] | None = None
    enabled: StrictBool | None = Field(
        default=None, description="false takes it out of the chat's list; vouchers stay valid"
    )

    @model_validator(mode="after")
    def _something(self) -> RewardUpdateIn:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        nulled = [f for f in NOT_NULL if f in self.model_fields_set and getattr(self, f) is None]
        if nulled:
            raise ValueError(f"{nulled[0]} cannot be null")
        return self


class RestockIn(In):
    add: Annotated[StrictInt, Field(ge=-(10**9), le=10**9)] = Field(
        description="Items to add (negative: to take away, never below zero); not zero",
        json_schema_extra={"not": {"const": 0}},
    )
    reason: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] | None = Field(
        default=None, description="Why, for the audit log (a delivery, a count, breakage)"
    )

    @model_validator(mode="after")
    def _not_zero(self) -> RestockIn:
        if self.add == 0:
            raise ValueError("add must not be zero")
        return self


async def list_rewards(call: Call) -> RewardList:
    catalogue_now = await rewards.list_catalogue()
    return RewardList(rewards=[RewardOut.model_validate(r) for r in catalogue_now])


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


async def update_reward(call: Call) -> RewardOut:
    body = call.body_as(RewardUpdateIn)
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    view, changed = await catalogue.update_reward(call.path["id"], changes, call.deps.programme)
    call.summary["changed"] = ",".join(changed)
    return RewardOut.model_validate(view)


async def restock(call: Call) -> RewardOut:
    body = call.body_as(RestockIn)
    try:
        view = await catalogue.restock(call.path["id"], body.add)
    except catalogue.StockNotLimited as exc:
        raise ApiError(409, "stock_not_limited", str(exc)) from None
    except catalogue.StockTooLow as exc:
        raise ApiError(409, "stock_too_low", str(exc)) from None
    call.summary["stock_after"] = view.stock
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
    Endpoint(
        method="PATCH",
        path="/api/v1/rewards/{id}",
        view=update_reward,
        operation_id="updateReward",
        summary="Edit or disable a reward",
        description=(
            "Fields left out stay as they are; `enabled: false` takes the reward out of the "
            "chat's list (vouchers already issued stay valid). Stock changes only through "
            "`POST /api/v1/rewards/{id}/stock`. Audited with the fields that changed."
        ),
        permission=Permission.MANAGE_REWARDS,
        body=RewardUpdateIn,
        response=RewardOut,
        errors={404: "No reward with this id"},
        audit="reward.update",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/rewards/{id}/stock",
        view=restock,
        operation_id="restockReward",
        summary="Add items to a reward's stock, or take some away",
        description=(
            "One conditional update relative to the stock at that moment, so redemptions "
            "running meanwhile are never overwritten. A reward without a stock limit, or a "
            "removal below zero, is refused (409)."
        ),
        permission=Permission.MANAGE_REWARDS,
        body=RestockIn,
        response=RewardOut,
        errors={
            404: "No reward with this id",
            409: "The reward has no stock limit, or has fewer items than taken away",
        },
        audit="reward.stock",
    ),
]
