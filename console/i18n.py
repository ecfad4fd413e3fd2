"""The console's words in Chinese (the default) and English, keyed by a short name.

One table, like the chat's texts (written a module per page or area in `console.texts`): a page
asks for `_("nav_members")` and gets the word in the language the staff member chose (a
cookie). A test checks that every key a template uses exists.
"""

from __future__ import annotations

from collections.abc import Callable

from console.texts import TEXTS

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

Translate = Callable[..., str]


def language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str) -> Translate:
    index = 1 if lang == "en" else 0

    def translate(key: str, **values: object) -> str:
        text = TEXTS[key][index]
        return text.format(**values) if values else text

    return translate
