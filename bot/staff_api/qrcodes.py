"""Permanent QR codes for stores and staff members, made through WeChat once and kept."""

from __future__ import annotations

from pydantic import Field

from bot.staff_api.endpoint import Call
from bot.staff_api.errors import ApiError
from bot.staff_api.schemas import Out
from bot.wechat.errors import WeChatAPIError
from bot.wechat.types import qr_image_url
from club.members.sources import MadeQrCode, MakeQrCode, QrCodeView

WECHAT_FAILED = "WeChat refused or did not answer; nothing was stored, try again"


class QrCodeOut(Out):
    scene: str = Field(
        description="What a follow or scan through the code reports, e.g. store_SH-01"
    )
    ticket: str
    image_url: str = Field(description="The code's image at WeChat, to print")
    url: str | None = Field(description="What the code holds, to render it at another size")
    created: bool = Field(description="False: the code existed and WeChat was not asked again")


def qr_maker(call: Call) -> MakeQrCode:
    """The port `club.members.sources` makes codes through: the account's, WeChat's refusal
    answered as the API's 502."""
    make_qr_code = call.deps.account.make_qr_code

    async def make(scene: str) -> MadeQrCode:
        try:
            return await make_qr_code(scene)
        except WeChatAPIError as exc:
            raise ApiError(502, "wechat_error", f"{WECHAT_FAILED} ({exc})") from None

    return make


def qr_out(view: QrCodeView, call: Call) -> QrCodeOut:
    call.summary.update(scene=view.scene, created=view.created)
    return QrCodeOut(
        scene=view.scene,
        ticket=view.ticket,
        image_url=qr_image_url(view.ticket),
        url=view.url,
        created=view.created,
    )
