"""Filling a text's `{placeholders}`, with English plurals: the one formatter of every text a
member reads (the chat's texts, the programme's messages and greetings, ledger reasons).

Pure: standard library only. Python's own format language, plus one form of our own: a number
followed by the word that agrees with it, `{points:point|points}` -> `1 point`, `5 points`
(singular for 1 and -1). Chinese texts need no such form; a programme's English texts use it
wherever a number is a placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

__all__ = ["fill", "plural"]


def plural(count: object, one: str, many: str) -> str:
    """`3 days`, `1 day`: the number and the word that agrees with it."""
    return f"{count} {one if count in (1, -1) else many}"


class _Wording(Formatter):
    def format_field(self, value: object, format_spec: str) -> str:
        one, bar, many = format_spec.partition("|")
        if bar:
            return plural(value, one, many)
        return str(super().format_field(value, format_spec))


_WORDING = _Wording()


def fill(text: str, values: Mapping[str, object]) -> str:
    """`text` with its `{placeholders}` filled from `values` (KeyError for a missing one)."""
    return _WORDING.vformat(text, (), values)
