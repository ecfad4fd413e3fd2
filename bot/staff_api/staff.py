"""Staff accounts, as admins manage them through the API: list, create, revoke, rotate, QR code.

The same as `python -m bot staff list | add | revoke | rotate` on the server. A token is in the
answer of create and rotate only, never in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.qrcodes import QrCodeOut, qr_maker, qr_out
from bot.staff_api.schemas import In, Out
from club.members.sources import SourceError, staff_qr_code
from club.staff import lifecycle
from club.staff.accounts import (
    Permission,
    StaffError,
    StaffRole,
    create_staff,
    may_get_qr_code_of,
)

StaffName = Annotated[str, Field(pattern=r"^[\w.@-]{1,64}$")]


class StaffIn(In):
    name: StaffName
    role: StaffRole


class StaffOut(Out):
    id: int
    name: str
    role: StaffRole
    state: str = Field(description="active, expired (the token is too old) or revoked")
    created_at: datetime
    token_issued_at: datetime
    token_expires_at: datetime
    last_used_at: datetime | None = Field(description="The current token's last use (to a minute)")
    revoked_at: datetime | None


class StaffList(Out):
    staff: list[StaffOut]


class StaffTokenOut(Out):
    account: StaffOut
    token: str = Field(description="The bearer token, shown only in this answer")


def _max_age(call: Call) -> timedelta:
    return timedelta(days=call.deps.programme.staff.token_days)


def _out(account: lifecycle.StaffAccount, now: datetime) -> StaffOut:
    return StaffOut(
        id=account.id, name=account.name, role=account.role, state=account.state(now),
        created_at=account.created_at, token_issued_at=account.token_issued_at,
        token_expires_at=account.token_expires_at, last_used_at=account.last_used_at,
        revoked_at=account.revoked_at,
    )  # fmt: skip


def _not_found(call: Call) -> ApiError:
    return ApiError(404, "not_found", f"no staff account with id {call.path['id']}")


async def list_staff(call: Call) -> StaffList:
    accounts = await lifecycle.list_staff(_max_age(call))
    return StaffList(staff=[_out(a, call.now) for a in accounts])


async def create(call: Call) -> StaffTokenOut:
    body = call.body_as(StaffIn)
    try:
        user, token = await create_staff(body.name, body.role, now=call.now)
    except StaffError as exc:
        raise ApiError(409, "name_taken", str(exc)) from None
    call.target = f"staff:{user.id}"
    account = await lifecycle.find_staff(user.id, _max_age(call))
    return StaffTokenOut(account=_out(account, call.now), token=token)


async def revoke(call: Call) -> StaffOut:
    try:
        account, changed = await lifecycle.revoke(call.path["id"], call.now, _max_age(call))
    except lifecycle.StaffNotFound:
        raise _not_found(call) from None
    except lifecycle.LastAdmin as exc:
        raise ApiError(409, "last_admin", str(exc)) from None
    call.summary.update(name=account.name, changed=changed)
    return _out(account, call.now)


async def rotate(call: Call) -> StaffTokenOut:
    try:
        account, token = await lifecycle.rotate(call.path["id"], call.now, _max_age(call))
    except lifecycle.StaffNotFound:
        raise _not_found(call) from None
    call.summary["name"] = account.name
    return StaffTokenOut(account=_out(account, call.now), token=token)


async def staff_qr(call: Call) -> QrCodeOut:
    staff_id = call.path["id"]
    # Refused before the account is looked up: a clerk learns nothing of the other ids.
    if not may_get_qr_code_of(call.staff, staff_id):
        raise ApiError(
            403, "forbidden",
            f"the {call.staff.role} role gets its own QR code only (staff {call.staff.id}): "
            "another staff member's is for admins",
        )  # fmt: skip
    try:
        view = await staff_qr_code(staff_id, qr_maker(call))
    except LookupError:
        raise _not_found(call) from None
    except SourceError as exc:
        raise ApiError(409, "revoked", str(exc)) from None
    return qr_out(view, call)


_NOT_FOUND = {404: "No staff account with this id"}
ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/staff",
        view=list_staff,
        operation_id="listStaff",
        summary="List staff accounts with their token's expiry and last use",
        permission=Permission.MANAGE_STAFF,
        response=StaffList,
    ),
    Endpoint(
        method="POST",
        path="/api/v1/staff",
        view=create,
        operation_id="createStaff",
        summary="Create a staff account",
        description="The token is in this answer only; it expires after `staff.token_days`.",
        permission=Permission.MANAGE_STAFF,
        body=StaffIn,
        response=StaffTokenOut,
        status=201,
        errors={409: "The name is taken"},
        audit="staff.create",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/staff/{id}/revoke",
        view=revoke,
        operation_id="revokeStaff",
        summary="Revoke a staff account's token at once",
        description=(
            "Its next request is refused (401), on every worker: tokens are checked against the "
            "database on every request. Revoking the last active admin is refused (409)."
        ),
        permission=Permission.MANAGE_STAFF,
        response=StaffOut,
        errors={**_NOT_FOUND, 409: "The last active admin"},
        audit="staff.revoke",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/staff/{id}/rotate",
        view=rotate,
        operation_id="rotateStaff",
        summary="Give a staff account a new token",
        description=(
            "The old token stops working at once; the new one, in this answer only, expires "
            "after `staff.token_days`. A revoked account is active again."
        ),
        permission=Permission.MANAGE_STAFF,
        response=StaffTokenOut,
        errors=_NOT_FOUND,
        audit="staff.rotate",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/staff/{id}/qrcode",
        view=staff_qr,
        operation_id="staffQrCode",
        summary="Get a staff member's permanent QR code",
        description=(
            "Made through WeChat (`qrcode/create`, scene `staff_<id>`) the first time and kept: "
            "asking again answers the same ticket without calling WeChat. A member who follows "
            "through it is recorded as brought in by this staff member. Every role gets its own "
            "(and may have it made: one WeChat call per account, ever); another's needs "
            "`manage_staff` (403 otherwise, whether or not the account exists)."
        ),
        permission=Permission.OWN_QR_CODE,
        response=QrCodeOut,
        errors={**_NOT_FOUND, 409: "The account is revoked", 502: "WeChat refused or failed"},
        audit="staff.qrcode",
    ),
]
