"""What staff do on an Official Account besides messaging it: make its permanent QR codes and
set its menu, behind small ports.

The staff API's views and the menu command are handed an account's `AccountTools` and never
pick a client themselves: the server builds the one of its account into `Deps.account`, the
command its own (`bot.menu_cli`). With several Official Accounts
(docs/design/several-accounts.md) the account a request or `--account` names is chosen where
the tools are built, and the views and commands stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from club.members.sources import MadeQrCode, MakeQrCode

if TYPE_CHECKING:
    from bot.wechat.api import WeChatAPI
    from bot.wechat.types import MenuButton


class MenuPort(Protocol):
    """The account's custom menu (WeChat's `menu/create` and `menu/get`)."""

    async def create_menu(self, buttons: Sequence[MenuButton]) -> None: ...

    async def get_menu(self) -> tuple[MenuButton, ...]:
        """The buttons the account shows now; none when it has no menu."""
        ...


@dataclass(frozen=True)
class AccountTools:
    make_qr_code: MakeQrCode
    """Raises `bot.wechat.errors.WeChatAPIError` when WeChat refuses or does not answer."""
    menu: MenuPort


def account_tools(api: WeChatAPI) -> AccountTools:
    """The tools of the account `api` is the client of."""

    async def make_qr_code(scene: str) -> MadeQrCode:
        code = await api.create_qrcode(scene)  # permanent: WeChat's QR_LIMIT_STR_SCENE
        return MadeQrCode(ticket=code.ticket, url=code.url)

    return AccountTools(make_qr_code=make_qr_code, menu=api)
