"""Which language a member writes in: the one rule the chat uses everywhere.

Pure: standard library only. Chinese when the text has a CJK character, English when it has a
Latin letter (full-width characters fold to ASCII first), neither for digits, dates and signs
(a phone number, a bottle code typed in digits).
"""

from __future__ import annotations

import unicodedata
from typing import Literal

Lang = Literal["zh", "en"]


def speaks(text: str) -> Lang | None:
    """The language a text is written in; None when it shows none."""
    folded = unicodedata.normalize("NFKC", text)
    if any("\u3400" <= ch <= "\u9fff" for ch in folded):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in folded):
        return "en"
    return None


def reply_language(text: str | None, language: str = "zh") -> Lang:
    """The language to answer in: the text's own, else the member's (`language`), else zh."""
    found = speaks(text) if text else None
    if found is not None:
        return found
    return "en" if language == "en" else "zh"
