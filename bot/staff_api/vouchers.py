"""Vouchers at the store: look one up, mark it used once, cancel the redemption."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.schemas import ONE_LINE, In, Out
from club.members.records import member_number
from club.rewards import vouchers
from club.rewards.redemptions import RedemptionRefused, Refusal
from club.staff.accounts import Permission

CODE_PATTERN = r"^[A-Za-z0-9-]{4,32}$"
KEYS = {"code": CODE_PATTERN}


class VoucherUseIn(In):
    store: Annotated[str, Field(min_length=1, max_length=32), ONE_LINE] | None = Field(
        default=None, description="The store handing the reward over (an open store's id)"
    )


class VoucherCancelIn(In):
    reason: Annotated[str, Field(min_length=2, max_length=200), ONE_LINE] = Field(
        description="Why (the member asked at the counter, by phone...); kept in the audit log"
    )


class VoucherOut(Out):
    code: str
    redemption_id: int
    reward_id: int
    reward_name: str
    points: int = Field(description="What the redemption cost")
    member_id: int
    member_number: str
    member_phone: str = Field(description="Masked (138****5678)")
    status: Literal["active", "used", "cancelled", "expired"]
    redeemed_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    used_store: str | None
    used_store_name: str | None
    cancelled_at: datetime | None


class VoucherCancelOut(VoucherOut):
    points_returned: int
    balance: int = Field(description="The member's balance after the points came back")


def _out(view: vouchers.VoucherView) -> VoucherOut:
    return VoucherOut(
        code=view.code, redemption_id=view.redemption_id, reward_id=view.reward_id,
        reward_name=view.reward_name, points=view.points, member_id=view.member_id,
        member_number=member_number(view.member_id), member_phone=view.masked_phone,
        status=view.status.value, redeemed_at=view.redeemed_at, expires_at=view.expires_at,
        used_at=view.used_at, used_store=view.used_store_id,
        used_store_name=view.used_store_name, cancelled_at=view.cancelled_at,
    )  # fmt: skip


def _code(call: Call) -> str:
    return call.keys["code"]


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, vouchers.VoucherMistyped):
        return ApiError(422, "mistyped", f"code: {exc}", fields=["code"])
    if isinstance(exc, vouchers.VoucherNotFound):
        return ApiError(404, "not_found", str(exc))
    return ApiError(409, "not_usable", str(exc))


async def get_voucher(call: Call) -> VoucherOut:
    try:
        view = await vouchers.find_voucher(_code(call), call.now)
    except (vouchers.VoucherMistyped, vouchers.VoucherNotFound) as exc:
        raise _refused(exc) from None
    call.summary["member_id"] = view.member_id
    return _out(view)


async def use_voucher(call: Call) -> VoucherOut:
    body = call.body_as(VoucherUseIn)
    try:
        view, _used = await vouchers.use_voucher(
            _code(call), call.now, store_id=body.store, staff_id=call.staff.id
        )
    except vouchers.VoucherStoreError as exc:
        raise ApiError(422, "unknown_store", str(exc), fields=["store"]) from None
    except (vouchers.VoucherMistyped, vouchers.VoucherNotFound, vouchers.VoucherNotUsable) as exc:
        raise _refused(exc) from None
    # `_used` (VoucherUsed) is the event the member's "voucher used" message is made from.
    call.summary.update(member_id=view.member_id, redemption_id=view.redemption_id)
    return _out(view)


_CANCEL_REFUSALS = {
    Refusal.ALREADY_USED: "the voucher was used: nothing to cancel",
    Refusal.EXPIRED: "the voucher expired: its points were handled by the expiry rule",
}


async def cancel_voucher(call: Call) -> VoucherCancelOut:
    call.body_as(VoucherCancelIn)
    try:
        view, done, returned = await vouchers.cancel_voucher(
            _code(call), call.now, call.deps.programme, staff_id=call.staff.id
        )
    except (vouchers.VoucherMistyped, vouchers.VoucherNotFound, vouchers.VoucherNotUsable) as exc:
        raise _refused(exc) from None
    except RedemptionRefused as exc:
        message = _CANCEL_REFUSALS.get(exc.reason, exc.reason.value)
        raise ApiError(409, "not_cancellable", message) from None
    call.summary.update(member_id=view.member_id, redemption_id=view.redemption_id)
    return VoucherCancelOut(
        **_out(view).model_dump(), points_returned=returned, balance=done.balance
    )


_COMMON = {404: "No voucher with this code", 422: "The code is mistyped (its check fails)"}
ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/vouchers/{code}",
        view=get_voucher,
        operation_id="getVoucher",
        summary="Look a voucher up by its code",
        description="The reward, the member (phone masked), the status and the expiry.",
        permission=Permission.FULFIL_VOUCHERS,
        response=VoucherOut,
        errors=_COMMON,
        keys=KEYS,
        audit="voucher.read",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/vouchers/{code}/use",
        view=use_voucher,
        operation_id="useVoucher",
        summary="Mark a voucher used: the reward is handed over",
        description=(
            "Once: a second time answers 409 saying when and at which store it was used. A "
            "cancelled or expired voucher is refused (409) too."
        ),
        permission=Permission.FULFIL_VOUCHERS,
        body=VoucherUseIn,
        response=VoucherOut,
        errors={**_COMMON, 409: "Already used (when, where), cancelled or expired"},
        keys=KEYS,
        audit="voucher.use",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/vouchers/{code}/cancel",
        view=cancel_voucher,
        operation_id="cancelVoucher",
        summary="Cancel a redemption for the member",
        description=(
            "Outside the member's own cancel window too: the points go back to the lots they "
            "came from (keeping those lots' expiry) and the item to stock. A used or expired "
            "voucher is refused (409); cancelling twice answers the first cancellation."
        ),
        permission=Permission.CANCEL_REDEMPTIONS,
        body=VoucherCancelIn,
        response=VoucherCancelOut,
        errors={**_COMMON, 409: "The voucher was used or has expired"},
        keys=KEYS,
        audit="voucher.cancel",
    ),
]
