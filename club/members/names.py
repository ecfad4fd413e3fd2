"""How a member likes to be addressed (`member.name`): what a greeting calls them.

Pure: standard library only. WeChat no longer gives a nickname, so the member types it in the
enrolment dialog (optional) or later with `称呼` / `name`. It is personal data: stored only with
consent and erased with the rest.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

MAX_NAME = 20
"""Characters at most: enough for 王先生, 欧阳娜娜女士 or "Dr Elizabeth Chan"."""


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_LETTERS = "no_letters"
    """Only digits and signs: most likely a phone number or a code sent to the wrong step."""


class InvalidName(ValueError):
    def __init__(self, problem: NameProblem) -> None:
        super().__init__(f"not a name: {problem.value}")
        self.problem = problem


def validate_name(text: str) -> str:
    """The name as it will be kept (folded to one line, spaces collapsed), or InvalidName."""
    folded = unicodedata.normalize("NFKC", text)
    printable = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in folded)
    name = " ".join(printable.split())
    if not name:
        raise InvalidName(NameProblem.EMPTY)
    if len(name) > MAX_NAME:
        raise InvalidName(NameProblem.TOO_LONG)
    if not any(ch.isalpha() for ch in name):
        raise InvalidName(NameProblem.NO_LETTERS)
    return name
