"""The sender port: how the club hands one message to the channel that delivers it.

Pure: standard library only. The async WeChat client implements `Sender` in the transport layer
(`bot.wechat.sender`), a dry-run sender records without calling anyone, and the tests have a
fake. A sender raises `SendFailed` with the `Failure` that says what became of the message; the
outbox decides from that (and the message's guarantee, `club.messaging.kinds`) what to do next
(`club.messaging.outcomes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from club.messaging.message import Content


class Failure(StrEnum):
    NOT_SENT = "not_sent"
    """WeChat certainly did not take it: the connection was refused before the request went
    out, or WeChat answered busy (45011, -1) or refused our token. Trying again is safe."""
    AMBIGUOUS = "ambiguous"
    """It may have been delivered: a timeout after the request went out, a 5xx, a dropped
    connection. Trying again may deliver it twice."""
    OUTSIDE_WINDOW = "outside_window"
    """45015 / 45047: the member's customer-service window is closed."""
    UNREACHABLE = "unreachable"
    """43004 / 43101: the member unfollowed or refused messages."""
    QUOTA = "quota"
    """45009: the API's daily quota is used up; nothing goes today."""
    REJECTED = "rejected"
    """Anything else WeChat refused (bad template id, bad openid, not authorised): final."""


class SendFailed(Exception):
    def __init__(self, failure: Failure, detail: str) -> None:
        self.failure = failure
        self.detail = detail
        super().__init__(f"{failure.value}: {detail}")


@dataclass(frozen=True)
class Receipt:
    msgid: str | None = None
    """WeChat's id for the message, where it gives one (template messages)."""
    dry_run: bool = False
    """Recorded as sent without calling WeChat (WECHAT_DRY_RUN)."""


class Sender(Protocol):
    async def send(self, openid: str, content: Content, *, ref: str) -> Receipt:
        """Send `content` to the member; `ref` names this message for the channel's own
        de-duplication where it has one (template `client_msg_id`). Raises `SendFailed`."""
        ...


TAG_BATCH = 50
"""WeChat tags at most 50 members a call."""


@dataclass(frozen=True)
class MassReceipt:
    msg_id: int | None = None
    """WeChat's id of the mass send: its MASSSENDJOBFINISH event names it (a 45065 answer
    gives the id of the send it had)."""
    duplicate: bool = False
    """WeChat had this `clientmsgid` already (45065): it went out before, nothing new now."""
    dry_run: bool = False


class MassSender(Protocol):
    """Mass sends by tag: the port a campaign's remaining audience goes through. Raises
    `SendFailed` (with the `Failure` meaning) when WeChat refuses."""

    async def create_tag(self, name: str) -> int: ...

    async def tag(self, tag_id: int, openids: Sequence[str]) -> None:
        """At most `TAG_BATCH` openids: one call."""
        ...

    async def untag(self, tag_id: int, openids: Sequence[str]) -> None: ...

    async def delete_tag(self, tag_id: int) -> None: ...

    async def send_to_tag(self, tag_id: int, text: str, *, clientmsgid: str) -> MassReceipt:
        """One text to everyone with the tag; idempotent by `clientmsgid`."""
        ...
