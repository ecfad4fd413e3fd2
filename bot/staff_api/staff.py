"""Staff accounts, as admins manage them through the API."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.qrcodes import QrCodeOut, qr_out, wechat_maker
from club.members.sources import SourceError, staff_qr_code
from club.staff.accounts import Permission


async def staff_qr(call: Call) -> QrCodeOut:
    staff_id = call.path["id"]
    try:
        view = await staff_qr_code(staff_id, wechat_maker(call))
    except LookupError:
        raise ApiError(404, "not_found", f"no staff account with id {staff_id}") from None
    except SourceError as exc:
        raise ApiError(409, "revoked", str(exc)) from None
    return qr_out(view, call)


ENDPOINTS = [
    Endpoint(
        method="POST",
        path="/api/v1/staff/{id}/qrcode",
        view=staff_qr,
        operation_id="staffQrCode",
        summary="Get a staff member's permanent QR code",
        description=(
            "Made through WeChat (`qrcode/create`, scene `staff_<id>`) the first time and kept: "
            "asking again answers the same ticket without calling WeChat. A member who follows "
            "through it is recorded as brought in by this staff member."
        ),
        permission=Permission.MANAGE_STAFF,
        response=QrCodeOut,
        errors={
            404: "No staff account with this id",
            409: "The account is revoked",
            502: "WeChat refused or failed",
        },
        audit="staff.qrcode",
    ),
]
