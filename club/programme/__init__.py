"""The club programme: what the club offers and how (tiers, earning, expiry, greetings).

`load_programme(path)` reads `CLUB_CONFIG`; `load_programme(None)` is the built-in demo.
"""

from club.programme.loader import parse_programme, parse_programme_text
from club.programme.source import load_programme
from club.rules.programme import (
    AboveLimit,
    AmountLimits,
    Birthday,
    BottleCodeLimits,
    Calendar,
    Consent,
    Delivery,
    Earning,
    ExpiryKind,
    ExpiryRule,
    Festival,
    Messages,
    Programme,
    ProgrammeError,
    Text,
    Tier,
    TierLadder,
    TierReview,
)

__all__ = [
    "AboveLimit",
    "AmountLimits",
    "Birthday",
    "BottleCodeLimits",
    "Calendar",
    "Consent",
    "Delivery",
    "Earning",
    "ExpiryKind",
    "ExpiryRule",
    "Festival",
    "Messages",
    "Programme",
    "ProgrammeError",
    "Text",
    "Tier",
    "TierLadder",
    "TierReview",
    "load_programme",
    "parse_programme",
    "parse_programme_text",
]
