"""The counter: a purchase for a consumer who is not a member yet, kept against their phone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.schemas import ONE_LINE, In, Out, PositiveFen, PurchaseItem, Ref
from club.members.phone import InvalidPhone
from club.sales import counter
from club.sales.purchases import PurchaseLine
from club.staff.accounts import Permission

Phone = Annotated[str, Field(min_length=1, max_length=32)]


class CounterPurchaseIn(In):
    phone: Phone = Field(description="The consumer's mobile number, as they give it at the till")
    order_id: Ref = Field(description="The till's order id; a repeat returns the first answer")
    amount_fen: PositiveFen
    store: Annotated[str, Field(min_length=1, max_length=32), ONE_LINE] | None = None
    items: Annotated[list[PurchaseItem], Field(max_length=500)] | None = None

    @field_validator("items")
    @classmethod
    def _items_add_up(
        cls, items: list[PurchaseItem] | None, info: ValidationInfo
    ) -> list[PurchaseItem] | None:
        amount = info.data.get("amount_fen")
        if items and amount is not None and sum(i.amount_fen for i in items) != amount:
            raise ValueError("the items' amount_fen must add up to the order's amount_fen")
        return items


class CounterQuery(In):
    phone: Phone


class CounterPurchaseOut(Out):
    order_id: str
    phone: str = Field(description="Masked (138****5678)")
    amount_fen: int
    store: str | None
    status: Literal["pending", "credited", "conflict", "lapsed"] = Field(
        description="pending: waits for the phone to join; credited: a member's purchase now; "
        "conflict: its order id was recorded for someone else before the phone joined; lapsed: "
        "nobody joined with the phone in time"
    )
    recorded_at: datetime
    wait_until: datetime = Field(description="A pending purchase lapses after this time")
    member_id: int | None
    points_earned: int | None = Field(description="Points credited (null while pending)")


class CounterPurchaseList(Out):
    purchases: list[CounterPurchaseOut]


def _out(view: counter.CounterPurchase) -> CounterPurchaseOut:
    return CounterPurchaseOut(
        order_id=view.order_id, phone=view.masked_phone, amount_fen=view.amount_fen,
        store=view.store_id, status=view.status.value, recorded_at=view.created_at,
        wait_until=view.wait_until, member_id=view.member_id, points_earned=view.points_credited,
    )  # fmt: skip


def _bad_phone(exc: InvalidPhone) -> ApiError:
    message = f"phone: not a mainland mobile number ({exc.problem})"
    return ApiError(422, "invalid", message, fields=["phone"])


async def record(call: Call) -> CounterPurchaseOut:
    body = call.body_as(CounterPurchaseIn)
    call.target = f"order:{body.order_id}"
    lines = [PurchaseLine(i.sku, i.qty, i.amount_fen, i.cost_fen) for i in body.items or ()]
    try:
        view = await counter.record_counter_purchase(
            phone=body.phone, order_id=body.order_id, amount_fen=body.amount_fen, now=call.now,
            programme=call.deps.programme, store_id=body.store, items=lines,
            actor_id=call.staff.id, outbox=call.deps.outbox,
        )  # fmt: skip
    except InvalidPhone as exc:
        raise _bad_phone(exc) from None
    except counter.PhoneShared as exc:
        raise ApiError(409, "phone_shared", str(exc)) from None
    call.summary.update(status=view.status.value, phone_masked=view.masked_phone)
    if view.member_id is not None:
        call.summary["member_id"] = view.member_id
    return _out(view)


async def list_for_phone(call: Call) -> CounterPurchaseList:
    try:
        found = await counter.counter_purchases(call.query_as(CounterQuery).phone)
    except InvalidPhone as exc:
        raise _bad_phone(exc) from None
    return CounterPurchaseList(purchases=[_out(v) for v in found])


ENDPOINTS = [
    Endpoint(
        method="POST",
        path="/api/v1/counter-purchases",
        view=record,
        operation_id="recordCounterPurchase",
        summary="Record a purchase against a phone number",
        description=(
            "For a consumer at the till who may not be a member yet. If a member has this phone "
            "number, it is their purchase at once (`status: credited`). Otherwise it waits "
            "(`pending`) for the programme's `counter.pending_days` (30 in the demo): when the "
            "phone completes enrolment in chat, its points are credited once and the new member "
            "is told so; after that it lapses. The same order_id again answers the first "
            "recording; with other data it is refused (409)."
        ),
        permission=Permission.RECORD_PURCHASE,
        body=CounterPurchaseIn,
        response=CounterPurchaseOut,
        status=201,
        errors={
            409: "The order id is recorded with other data, or several members have this "
            "phone number"
        },
        audit="counter_purchase.record",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/counter-purchases",
        view=list_for_phone,
        operation_id="listCounterPurchases",
        summary="The purchases recorded at the counter against a phone number",
        permission=Permission.RECORD_PURCHASE,
        query=CounterQuery,
        response=CounterPurchaseList,
        audit="counter_purchase.read",
    ),
]
