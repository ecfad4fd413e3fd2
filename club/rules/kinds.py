"""Kinds of points movement; the ledger's business reference is unique per kind."""

from __future__ import annotations

from enum import StrEnum


class EntryKind(StrEnum):
    EARN = "earn"
    """Points for a purchase (ref: the order id)."""
    BONUS = "bonus"
    """Welcome, check-in, birthday, festival, bottle code and other gifts."""
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSE = "reverse"
    """Points taken back for a returned purchase."""
    ADJUST = "adjust"
    """A staff correction, positive or negative, with a reason and the staff actor."""
    REFUND = "refund"
    """Points given back for a cancelled redemption."""
