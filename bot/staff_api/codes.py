"""Bottle-code batches: staff order a print run and get the new codes back."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.schemas import BottleCodesIn, BottleCodesOut
from club.codes.bottle import generate_batch
from club.staff.accounts import Permission


async def create_batch(call: Call) -> BottleCodesOut:
    body = call.body_as(BottleCodesIn)
    call.target = f"batch:{body.batch}"
    # Each code is a credit given by hand: the programme's limit applies to its points.
    call.deps.programme.limits.check_credit(body.points)
    # The body's limits are inside the service's: a CodeBatchError left is a name conflict.
    batch = await generate_batch(body.count, body.points, body.batch, call.now)
    # The codes themselves are not audited: the log must not become a list of valid codes.
    call.summary["created"] = batch.created
    return BottleCodesOut(
        batch=batch.name, points=batch.points, count=len(batch.codes), codes=list(batch.codes)
    )


ENDPOINTS = [
    Endpoint(
        method="POST",
        path="/api/v1/bottle-codes",
        view=create_batch,
        operation_id="createBottleCodes",
        summary="Generate a batch of bottle codes",
        description=(
            "The same batch name with the same count and points returns the first batch's "
            "codes again; the name with other values is refused (409). Points per code above "
            "the programme's limits.max_credit_points are refused (422)."
        ),
        permission=Permission.ISSUE_CODES,
        body=BottleCodesIn,
        response=BottleCodesOut,
        status=201,
        errors={409: "The batch name is taken with other values"},
        audit="codes.generate",
    ),
]
