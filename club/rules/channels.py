"""Channel levels (the source material's dealer -> consumer ladder) and store identifiers.

Pure: standard library only. Key customers are chosen within a channel level, so every store
carries one; staff may write a level by its code or by its Chinese name (a CSV from a
spreadsheet usually has the latter).
"""

from __future__ import annotations

import re
from enum import StrEnum


class ChannelLevel(StrEnum):
    DEALER = "dealer"
    WHOLESALER = "wholesaler"
    KEY_ACCOUNT = "key_account"
    SMALL_SHOP = "small_shop"
    ONLINE = "online"
    CONSUMER = "consumer"


STORE_LEVELS: tuple[ChannelLevel, ...] = tuple(
    level for level in ChannelLevel if level != ChannelLevel.CONSUMER
)
"""Levels whose customers are stores (their sales: the purchases recorded at them). At the
consumer level the customers are the members themselves."""


class StoreStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


LEVEL_NAMES_ZH: dict[ChannelLevel, str] = {
    ChannelLevel.DEALER: "经销商",
    ChannelLevel.WHOLESALER: "批发商",
    ChannelLevel.KEY_ACCOUNT: "重点客户",
    ChannelLevel.SMALL_SHOP: "小店",
    ChannelLevel.ONLINE: "线上",
    ChannelLevel.CONSUMER: "消费者",
}
_BY_TEXT = {level.value: level for level in ChannelLevel} | {
    name: level for level, name in LEVEL_NAMES_ZH.items()
}

STORE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
"""A store id fits a QR scene (`store_<id>`, at most 64 characters) and a URL path as it is."""
STORE_ID = re.compile(STORE_ID_PATTERN)


def parse_level(text: str) -> ChannelLevel | None:
    """The level a code (`key_account`, any case) or a Chinese name (`重点客户`) names, or None."""
    return _BY_TEXT.get(text.strip().lower()) or _BY_TEXT.get(text.strip())


def level_choices() -> str:
    """The accepted spellings, for an error message."""
    return ", ".join(f"{level.value} ({LEVEL_NAMES_ZH[level]})" for level in ChannelLevel)
