"""WeChat API errors, mapped from `errcode` to what the caller should do about them.

Callers catch the meaning (`OutsideWindow`: fall back to a template; `MemberUnreachable`: record
it), never the number. `retryable` tells the client whether backing off and trying again can help.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class WeChatAPIError(Exception):
    """An answer with a non-zero `errcode`, or no usable answer at all (`TransportError`)."""

    retryable = False

    def __init__(self, errcode: int, errmsg: str, *, endpoint: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.endpoint = endpoint
        self.answer: Mapping[str, Any] = {}
        """The whole answer, where there was one: some refusals say more than their code."""
        where = f" from {endpoint}" if endpoint else ""
        super().__init__(f"WeChat error {errcode}{where}: {errmsg}")

    @property
    def result(self) -> str:
        """The metrics label for this outcome."""
        return str(self.errcode)


class TokenInvalid(WeChatAPIError):
    """40001 / 40014 / 42001: the access token is invalid or expired (refresh once, retry once)."""


class QuotaExceeded(WeChatAPIError):
    """45009: the daily quota of this API is used up; trying again today cannot help."""


class RateLimited(WeChatAPIError):
    """45011 (too frequent) and -1 (system busy): back off and try again."""

    retryable = True


class OutsideWindow(WeChatAPIError):
    """45015 / 45047: outside the customer-service window; send a template message instead."""


class MemberUnreachable(WeChatAPIError):
    """43004 (not following) / 43101 (refused messages): record it, stop messaging them."""


class InvalidOpenid(WeChatAPIError):
    """40003: the openid does not belong to this account."""


class NotAuthorised(WeChatAPIError):
    """48001: this account may not call this API."""


class IPNotWhitelisted(WeChatAPIError):
    """40164: the calling IP is not in the account's whitelist."""


class DuplicateMassSend(WeChatAPIError):
    """45065: a mass send with this `clientmsgid` was already made (it went out before). The
    answer carries that send's `msg_id` (WeChat's documentation of `clientmsgid`)."""


class TransportError(WeChatAPIError):
    """No usable answer: a network error, a timeout, a 5xx, or a body that is not JSON.

    `errcode` is the HTTP status when there was one, else 0. `written`: the request may have
    reached WeChat (a timeout after connecting, a dropped connection, a 5xx); False only when
    the connection itself failed, so WeChat cannot have acted on it.
    """

    retryable = True
    written = True

    @property
    def result(self) -> str:
        return f"http_{self.errcode}" if self.errcode else "network"


TRANSPORT_NO_STATUS = 0

_BY_CODE: dict[int, type[WeChatAPIError]] = {
    40001: TokenInvalid,
    40014: TokenInvalid,
    42001: TokenInvalid,
    45009: QuotaExceeded,
    45011: RateLimited,
    -1: RateLimited,
    45015: OutsideWindow,
    45047: OutsideWindow,
    43004: MemberUnreachable,
    43101: MemberUnreachable,
    40003: InvalidOpenid,
    48001: NotAuthorised,
    40164: IPNotWhitelisted,
    45065: DuplicateMassSend,
}


def error_for(errcode: int, errmsg: str, *, endpoint: str = "") -> WeChatAPIError:
    """The exception that means what `errcode` means (the base class for codes we do not map)."""
    return _BY_CODE.get(errcode, WeChatAPIError)(errcode, errmsg, endpoint=endpoint)
