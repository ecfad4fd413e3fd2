"""The outbox's idempotency keys, made in one place.

A key names one message for good: the same effect asked for again (a retried job, a repeated
request, a re-delivered task) finds the row with its key and sends nothing twice. Keys are
`<kind>:<parts...>` and at most 128 characters (the column's width); a longer one keeps its
readable start and ends in a digest of the whole, so two long keys never collide by being cut.
"""

from __future__ import annotations

import hashlib
from datetime import date

MAX_KEY = 128
_DIGEST = 32


def outbox_key(*parts: object) -> str:
    """`a:b:c` from the parts; over 128 characters: its start and a digest of the whole."""
    texts = [str(p) for p in parts]
    if not texts or not all(texts):
        raise ValueError("an outbox key needs non-empty parts")
    key = ":".join(texts)
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_DIGEST]
    return f"{key[: MAX_KEY - _DIGEST - 1]}~{digest}"


def greeting_key(member_id: int, day: date) -> str:
    """A member's greeting of a day: birthday and festival jobs share it (one a day)."""
    return outbox_key("greeting", member_id, day.isoformat())


def template_copy_key(key: str) -> str:
    """The template message sent in place of a customer-service row the window refused."""
    return outbox_key(key, "template")
