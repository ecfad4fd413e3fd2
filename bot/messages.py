"""What a member sent us, as handlers see it: one typed record, whatever the message type.

Pure data (no wechatpy, no XML): handlers import it without pulling the transport in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

_EMPTY: Mapping[str, str] = MappingProxyType({})
ACCOUNT_EVENTS = frozenset({"masssendjobfinish", "templatesendjobfinish"})
"""Events WeChat sends about the account's own sends, not from a member (their FromUserName is
WeChat's, e.g. `mphelper`): no member row is made or touched for them."""


def normalise(text: str) -> str:
    """Full-width letters to ASCII, trimmed, case-folded: `ＨＥＬＰ ` and `Help` are `help`."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


@dataclass(frozen=True)
class Incoming:
    openid: str
    """FromUserName: the member."""
    account: str
    """ToUserName: our Official Account's original id."""
    msg_type: str
    """Lower case: text, image, voice, video, shortvideo, location, link, event, ..."""
    create_time: int
    msg_id: int | None = None
    content: str | None = None
    event: str | None = None
    """Lower case: subscribe, unsubscribe, scan, click, view, location, scancode_waitmsg, ..."""
    event_key: str | None = None
    """As sent (for a QR subscribe still with its `qrscene_` prefix)."""
    ticket: str | None = None
    scan_type: str | None = None
    scan_result: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: _EMPTY, repr=False)
    """Every other top-level text field, by its WeChat name (MediaId, PicUrl, Url, ...)."""

    # Worked out once per message: the router tries many filters on the same text.
    @cached_property
    def plain_text(self) -> str | None:
        """A text message's content, NFKC-normalised (full-width letters to ASCII) and trimmed;
        None for anything else."""
        if self.msg_type != "text" or self.content is None:
            return None
        return unicodedata.normalize("NFKC", self.content).strip()

    @cached_property
    def words(self) -> str | None:
        """`plain_text` case-folded: what exact-word filters compare (see `normalise`)."""
        plain = self.plain_text
        return None if plain is None else plain.casefold()

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def from_account(self) -> bool:
        return self.is_event and self.event in ACCOUNT_EVENTS

    @property
    def member_sent(self) -> bool:
        """A message the member typed or sent (opens the customer-service window fully)."""
        return not self.is_event

    @property
    def scene(self) -> str | None:
        """The parametric QR scene: `qrscene_<scene>` on subscribe, `<scene>` on SCAN."""
        if self.event_key is None:
            return None
        if self.event == "subscribe":
            prefix = "qrscene_"
            return self.event_key[len(prefix) :] if self.event_key.startswith(prefix) else None
        if self.event == "scan":
            return self.event_key or None
        return None

    @property
    def kind(self) -> str:
        """The metrics label: the message type, or `event:<name>`."""
        return f"event:{self.event}" if self.is_event else self.msg_type

    @property
    def dedup_key(self) -> str:
        """WeChat's retry identity: MsgId, or for events FromUserName + CreateTime + Event."""
        if self.msg_id is not None:
            return f"msg:{self.msg_id}"
        return f"evt:{self.openid}:{self.create_time}:{self.event or self.msg_type}"
