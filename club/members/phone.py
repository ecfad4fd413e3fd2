"""Mainland China mobile numbers: validation as typed in chat, and masking.

Pure: standard library only. Members type numbers with spaces, dashes, a `+86` prefix or
full-width digits; all of those are accepted and reduced to the 11 digits. A full number is shown
only to the admin role; everywhere else it is masked (`138****5678`).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

_SEPARATORS = re.compile(r"[\s\-()（）.·]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


class PhoneProblem(StrEnum):
    EMPTY = "empty"
    NOT_DIGITS = "not_digits"
    WRONG_LENGTH = "wrong_length"
    NOT_MOBILE = "not_mobile"
    """Eleven digits, but not a mainland mobile prefix (1[3-9]...)."""


class InvalidPhone(ValueError):
    """The text is not a mainland mobile number; `problem` says why (handlers word it)."""

    def __init__(self, problem: PhoneProblem) -> None:
        super().__init__(f"invalid phone number: {problem.value}")
        self.problem = problem


def validate_phone(text: str) -> str:
    """The 11-digit number in `text`, or InvalidPhone.

    NFKC folds full-width digits and signs; separators and a leading +86 / 0086 / 86 go.
    """
    folded = unicodedata.normalize("NFKC", text).strip()
    compact = _SEPARATORS.sub("", folded)
    if not compact:
        raise InvalidPhone(PhoneProblem.EMPTY)
    if compact.startswith("+"):
        compact = compact[1:]
        if not compact.startswith("86"):
            raise InvalidPhone(PhoneProblem.NOT_MOBILE)
    if not compact.isascii() or not compact.isdigit():
        raise InvalidPhone(PhoneProblem.NOT_DIGITS)
    if len(compact) == 15 and compact.startswith("0086"):
        compact = compact[4:]
    elif len(compact) == 13 and compact.startswith("86"):
        compact = compact[2:]
    if len(compact) != 11:
        raise InvalidPhone(PhoneProblem.WRONG_LENGTH)
    if not _MOBILE.fullmatch(compact):
        raise InvalidPhone(PhoneProblem.NOT_MOBILE)
    return compact


def mask_phone(phone: str | None) -> str:
    """`13812345678` -> `138****5678`; anything shorter keeps at most its last two characters."""
    if not phone:
        return ""
    if len(phone) >= 11:
        return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"
    visible = min(2, len(phone) // 3)
    return "*" * (len(phone) - visible) + (phone[-visible:] if visible else "")
