"""The Official Account's menu as the programme defines it, and WeChat's rules for it.

Pure: standard library only. WeChat's `menu/create` (checked against its documentation for
service accounts, developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu):
1-3 top-level buttons, 1-5 sub-buttons each; a name of at most 16 bytes at the top (about five
Chinese characters; four show in full) and 60 bytes in a sub-menu; a key of at most 128 bytes;
a URL of at most 1024 bytes. Lengths are UTF-8 bytes, as WeChat counts them (40018, 40019, 40027
are its refusals). The programme is checked against these at load, so a menu WeChat would refuse
never gets as far as `python -m bot menu install`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128
URL_BYTES = 1024

CLICK_KEYS = ("POINTS", "CARD", "REDEEM", "CHECKIN", "HELP")
"""The CLICK keys the chat answers (CONTRACT.md); a test checks the router handles each."""
SCAN_TYPES = ("scancode_waitmsg", "scancode_push")
"""The scan buttons: a bottle code scanned with them is redeemed like a typed one."""
TYPES = ("click", "view", *SCAN_TYPES)


@dataclass(frozen=True)
class MenuButton:
    name: str
    type: str | None = None
    """click, view, scancode_waitmsg or scancode_push; None for a button holding sub-buttons."""
    key: str | None = None
    url: str | None = None
    sub_buttons: tuple[MenuButton, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Menu:
    buttons: tuple[MenuButton, ...] = ()


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))
