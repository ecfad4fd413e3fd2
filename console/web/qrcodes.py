"""The permanent QR code a store or a staff member hands out (`store_<id>`, `staff_<id>`): its
page, the button that makes it, and the image to download for printing.

Making it runs the staff API's endpoint (`storeQrCode`, `staffQrCode`: the same role, WeChat's
`qrcode/create` once, the ticket kept, audited via: console). Seeing it reads the kept code and
never asks WeChat, so a GET changes nothing. The image is drawn here from what WeChat answered
the code holds (its `url`): it comes from our own origin, which the console's security policy
requires of images, and prints sharp at any size; WeChat's own image of the code is a link away.
A store's code is for admins; a staff member's is for themselves (any role: the members it brings
are credited to them) and for admins.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import segno
from aiohttp import web

from bot.staff_api.errors import ApiError
from bot.wechat.types import qr_image_url
from club.members.sources import (
    STAFF,
    STORE,
    QrCodeView,
    SourceError,
    describe_source,
    kept_staff_qr_code,
    kept_store_qr_code,
)
from club.rules.channels import STORE_ID
from club.staff.accounts import Permission, may_get_qr_code_of
from console.auth.context import SESSIONS, Refused, current_user, require, see_other
from console.i18n import translator
from console.render import page_language, render
from console.web.actions import act, path_id

PAGE_SCALE = 8
"""Pixels a module on the page: about 300 px for WeChat's usual 29 + 8 modules."""
PRINT_SCALE = 24
"""Pixels a module in the PNG to print: about 900 px, 7.5 cm at 300 dpi."""
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


@dataclass(frozen=True)
class Holder:
    """Whose code a page is about, and how the staff API names it."""

    kind: str
    ref: str
    permission: Permission
    operation: str
    kept: Callable[[], Awaitable[QrCodeView | None]]
    path: Mapping[str, int] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def page(self) -> str:
        return f"/console/{'stores' if self.kind == STORE else 'staff'}/{self.ref}/qrcode"


def _holder(request: web.Request) -> Holder:
    """The store or staff member of the path; who may see their code is checked here."""
    if "store_id" in request.match_info:
        store_id = request.match_info["store_id"]
        if not STORE_ID.match(store_id):
            raise web.HTTPNotFound()
        holder = Holder(
            STORE, store_id, Permission.MANAGE_STORES, "storeQrCode",
            lambda: kept_store_qr_code(store_id), keys={"store_id": store_id},
        )  # fmt: skip
    else:
        staff_id = path_id(request)
        holder = Holder(
            STAFF, str(staff_id), Permission.OWN_QR_CODE, "staffQrCode",
            lambda: kept_staff_qr_code(staff_id), path={"id": staff_id},
        )  # fmt: skip
    user = require(request, holder.permission)
    # The endpoint's own rule, for the page and the downloads that read the kept code without
    # calling it: everyone their own code, admins anyone's.
    if holder.kind == STAFF and not may_get_qr_code_of(user.staff, int(holder.ref)):
        raise Refused(Permission.MANAGE_STAFF, "forbidden_other_qr")
    return holder


async def _kept(holder: Holder) -> tuple[QrCodeView | None, str | None]:
    """The kept code (None: not made yet), or why there is none to hand out."""
    try:
        return await holder.kept(), None
    except LookupError:
        raise web.HTTPNotFound() from None
    except SourceError as exc:
        return None, str(exc)


def _code(url: str) -> segno.QRCode:
    # A full QR code always: segno would choose a Micro QR for short text, which WeChat's
    # scanner does not read.
    return segno.make_qr(url, error="m")


async def show(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    holder = _holder(request)
    code, refused = await _kept(holder)
    source = await describe_source(holder.kind, holder.ref)
    return await render(
        request,
        "qrcode.html",
        {
            "kind": holder.kind,
            "name": source.name if source is not None else holder.ref,
            "page": holder.page,
            "code": code,
            "image": _code(code.url).svg_data_uri(scale=PAGE_SCALE) if code and code.url else None,
            "wechat_image": qr_image_url(code.ticket) if code else None,
            "error": error or refused,
            "can_make": refused is None,
        },
        status=409 if refused else status,
    )


async def make(request: web.Request) -> web.StreamResponse:
    holder = _holder(request)
    _ = translator(page_language(request))
    try:
        done = await act(request, holder.operation, {}, path=holder.path, keys=holder.keys)
    except ApiError as exc:
        return await show(request, error=exc.message, status=exc.status)
    if done.model_dump()["created"]:
        await request.app[SESSIONS].push_flash(current_user(request).session, _("qr_made"))
    return see_other(holder.page)


async def download(request: web.Request) -> web.StreamResponse:
    holder = _holder(request)
    kind = request.match_info["format"]
    code, _refused = await _kept(holder)
    if kind not in FORMATS or code is None or not code.url:
        raise web.HTTPNotFound()
    image = io.BytesIO()
    _code(code.url).save(image, kind=kind, scale=PRINT_SCALE, border=4)
    return web.Response(
        body=image.getvalue(),
        content_type=FORMATS[kind],
        headers={"Content-Disposition": f'attachment; filename="{code.scene}.{kind}"'},
    )
