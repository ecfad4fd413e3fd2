"""Purchases and returns recorded at the till."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.members import member_or_404, require_joined
from bot.staff_api.schemas import PurchaseIn, PurchaseOut, ReturnIn, ReturnOut
from club.members.records import member_by_openid
from club.sales import purchases
from club.staff.accounts import Permission


async def _member_id(body: PurchaseIn) -> int:
    if body.member_id is not None:
        member = await member_or_404(body.member_id)
    else:
        # The schema requires exactly one of member_id and openid.
        found = await member_by_openid(body.openid or "")
        if found is None or found.deleted:
            raise ApiError(404, "not_found", "no member with this openid")
        member = found
    require_joined(member)
    return int(member.id)


async def record_purchase(call: Call) -> PurchaseOut:
    body = call.body_as(PurchaseIn)
    call.target = f"order:{body.order_id}"
    member_id = await _member_id(body)
    programme = call.deps.programme
    result = await purchases.record_purchase(
        order_id=body.order_id,
        amount_fen=body.amount_fen,
        now=call.now,
        programme=programme,
        member_id=member_id,
        store_id=body.store,
        items=[
            purchases.PurchaseLine(i.sku, i.qty, i.amount_fen, i.cost_fen) for i in body.items or ()
        ],
        actor_id=call.staff.id,
        outbox=call.deps.outbox,
        account_id=body.account_id,
    )
    call.summary.update(
        member_id=result.member_id, points_earned=result.points_earned, replayed=result.replayed
    )
    return PurchaseOut(
        member_id=result.member_id,
        order_id=result.order_id,
        points_earned=result.points_earned,
        balance=result.balance,
        tier=result.tier,
        upgraded_from=result.upgrade.from_tier if result.upgrade else None,
    )


async def record_return(call: Call) -> ReturnOut:
    body = call.body_as(ReturnIn)
    call.target = f"order:{body.order_id}"
    result = await purchases.record_return(
        body.order_id,
        body.amount_fen,
        now=call.now,
        ref=body.ref,
        actor_id=call.staff.id,
        programme=call.deps.programme,
        outbox=call.deps.outbox,
    )
    call.summary.update(
        member_id=result.member_id,
        points_reversed=result.points_reversed,
        replayed=result.replayed,
    )
    return ReturnOut(
        member_id=result.member_id,
        order_id=result.order_id,
        ref=result.ref,
        amount_fen=result.amount_fen,
        returned_fen_total=result.returned_fen_total,
        points_reversed=result.points_reversed,
        balance=result.balance,
        debt=result.debt,
    )


ENDPOINTS = [
    Endpoint(
        method="POST",
        path="/api/v1/purchases",
        view=record_purchase,
        operation_id="recordPurchase",
        summary="Record a purchase",
        description=(
            "Earns points at the member's tier multiplier and upgrades the tier at once when the "
            "purchase crosses a threshold (the member is congratulated). The same order_id again "
            "returns the first answer and awards nothing; with other data it is refused (409). "
            "An amount_fen above the programme's limits.max_purchase_fen is refused (422)."
        ),
        permission=Permission.RECORD_PURCHASE,
        body=PurchaseIn,
        response=PurchaseOut,
        errors={
            404: "No such member",
            409: "The order id is already recorded with another member or amount, or the "
            "member has not joined the club",
        },
        audit="purchase.record",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/returns",
        view=record_return,
        operation_id="recordReturn",
        summary="Record a return",
        description=(
            "Reverses points in proportion to the refunded amount. Points already spent are "
            "carried as a debt that future earnings pay first. Returning more than was bought "
            "is refused (409)."
        ),
        permission=Permission.RECORD_RETURN,
        body=ReturnIn,
        response=ReturnOut,
        errors={
            404: "No purchase with this order id",
            409: "The return exceeds what is left of the purchase, or its ref is taken",
        },
        audit="return.record",
    ),
]
