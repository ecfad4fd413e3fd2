"""Which language a member is answered in: the one rule the chat uses everywhere.

Pure (standard library and the code alphabet). A member's language is theirs, kept on the
member: set by their first message that shows a language, changed only when they send
`English` / `中文`. Every answer, every message the club sends them and every ledger reason they
read is in it, whatever a single message looks like: a Chinese member who types a bottle code
(letters and digits) or `ok` is still answered in Chinese.

A text shows Chinese when it has a CJK character, English when it has a Latin letter
(full-width characters fold to ASCII first), and no language when it has neither (digits, dates,
signs, emoji) or is a bottle code.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from club.codes.codegen import CodeShape, classify

Lang = Literal["zh", "en"]

SWITCH_WORDS: dict[str, Lang] = {
    "english": "en",
    "英文": "en",
    "英语": "en",
    "中文": "zh",
    "chinese": "zh",
    "汉语": "zh",
}
"""What a member sends to change their language (case and full width folded)."""


def speaks(text: str) -> Lang | None:
    """The language a text is written in; None when it shows none."""
    folded = unicodedata.normalize("NFKC", text)
    if any("\u3400" <= ch <= "\u9fff" for ch in folded):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in folded):
        # A bottle code is letters and digits, in no language.
        return None if classify(folded)[0] is not CodeShape.NOT_A_CODE else "en"
    return None


def switch_to(text: str | None) -> Lang | None:
    """The language the member asks for (`English`, `中文`), or None."""
    if not text:
        return None
    return SWITCH_WORDS.get(unicodedata.normalize("NFKC", text).strip().casefold())


def as_lang(language: str | None) -> Lang:
    """A stored language as one we answer in (Chinese unless it is English)."""
    return "en" if language == "en" else "zh"


def first_language(text: str | None) -> Lang | None:
    """What a message sets for a member whose language is not set yet: the language it asks for
    or shows; None when it shows none (the member stays unset)."""
    if not text:
        return None
    return switch_to(text) or speaks(text)


def reply_language(text: str | None, language: str | None = None) -> Lang:
    """The language to answer in: the member's `language` once set; otherwise the text's own,
    else Chinese (before the member's row is read: the busy notice, an error)."""
    if language is not None:
        return as_lang(language)
    found = speaks(text) if text else None
    return found or "zh"
