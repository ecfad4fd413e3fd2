"""Bottle and voucher codes: random, unguessable, with a check character.

Pure: standard library only. The alphabet has 31 symbols, leaving out the look-alikes 0/O, 1/I/L.
31 is prime, so the check uses the quasigroup x*y = 3x + y (mod 31) in the manner of the Damm
algorithm: 3 is not 0 or 1, which makes the quasigroup totally anti-symmetric, so EVERY single
wrong character and EVERY swap of two adjacent characters changes the result. (Luhn mod N misses
one transposition pair, which is why it is not used.) A code is the check applied to random
symbols from `secrets`: 11 of them give 31**11 (about 2.5e16, 54 bits) codes, so guessing a live
one is hopeless, and 30 of 31 random guesses fail the check before any database lookup.
"""

from __future__ import annotations

import secrets
import unicodedata
from enum import StrEnum

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_BASE = len(ALPHABET)
_INDEX = {symbol: i for i, symbol in enumerate(ALPHABET)}
_FACTOR = 3
BOTTLE_BODY_LENGTH = 11
BOTTLE_CODE_LENGTH = BOTTLE_BODY_LENGTH + 1
VOUCHER_BODY_LENGTH = 9
GROUP = 4
_SEPARATORS = str.maketrans("", "", " -_\t\r\n.·—")


def _interim(symbols: str) -> int:
    value = 0
    for symbol in symbols:
        value = (_FACTOR * value + _INDEX[symbol]) % _BASE
    return value


def check_character(body: str) -> str:
    """The symbol that brings the chain back to 0 (ValueError on a symbol outside the alphabet)."""
    unknown = set(body) - _INDEX.keys()
    if unknown:
        raise ValueError(f"not in the code alphabet: {''.join(sorted(unknown))!r}")
    return ALPHABET[(-_FACTOR * _interim(body)) % _BASE]


def is_valid(code: str) -> bool:
    """A normalised code whose check character matches."""
    return bool(code) and all(c in _INDEX for c in code) and _interim(code) == 0


def random_code(body_length: int = BOTTLE_BODY_LENGTH) -> str:
    """A new normalised code: `body_length` random symbols plus the check character."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(body_length))
    return body + check_character(body)


def format_code(code: str, group: int = GROUP) -> str:
    """Grouped for print and reading aloud: `ABCD-EFGH-JKMN`."""
    return "-".join(code[i : i + group] for i in range(0, len(code), group))


def normalise(text: str) -> str:
    """What a member typed, reduced to upper-case symbols: full-width folded, separators dropped."""
    return unicodedata.normalize("NFKC", text).translate(_SEPARATORS).upper()


class CodeShape(StrEnum):
    VALID = "valid"
    """Right length, every symbol in the alphabet, check character matches."""
    MISTYPED = "mistyped"
    """Looks like a code (right length, letters and digits) but is not one we could have issued."""
    NOT_A_CODE = "not_a_code"
    """Some other text: the chat should treat it as a message, not a code."""


def classify(text: str, length: int = BOTTLE_CODE_LENGTH) -> tuple[CodeShape, str]:
    """The shape of `text` and its normalised form."""
    code = normalise(text)
    if len(code) != length or not code.isascii() or not code.isalnum():
        return CodeShape.NOT_A_CODE, code
    return (CodeShape.VALID if is_valid(code) else CodeShape.MISTYPED), code
