"""The outbox: every outbound message is a row first, then (at most once) a WeChat call.

- `enqueue` is idempotent on the key: a second call with the same key returns the first row
  unchanged (the unique index turns the repeat into an IntegrityError, which we catch).
- `deliver` claims the row with one conditional update (queued/failed -> sending, attempts + 1,
  only when due), so of two workers delivering the same row exactly one sends. The outcome is
  recorded on the row: sent (with WeChat's msgid), skipped (outside the window, unreachable),
  failed, or back to queued with a later `not_before` when trying again later can help.
- In dry-run mode the row itself is the destination: status sent, `dry_run` true, no call.
- `deliver(..., window=...)`: the sender asks, once the row is claimed, whether a
  customer-service row may still go (`club.messaging.window.refusal`: the window's allowance,
  counted from the outbox); if not, the row is skipped with the reason and reported as outside
  the window, like a 45047.

A row left in `sending` (its worker died between the claim and the answer) is never re-claimed:
whether WeChat got it is unknown, and sending twice is the worse mistake (customer-service and
template messages carry no idempotency key WeChat would honour). Once its lease has passed,
`settle_abandoned` records it as failed with the outcome unknown, and logs how many.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from bot.wechat.api import WeChatAPI, mask_openid
from bot.wechat.errors import (
    MemberUnreachable,
    OutsideWindow,
    QuotaExceeded,
    TokenInvalid,
    WeChatAPIError,
)
from bot.wechat.types import Article, SendResult
from club.db.models.members import Member
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from club.clock import Clock
    from config import Settings

__all__ = [
    "Article",
    "DeliveryStatus",
    "NewsMessage",
    "Outbox",
    "Payload",
    "TemplateMessage",
    "TextMessage",
    "payload_from_json",
    "payload_to_json",
    "settle_abandoned",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
SENDING_LEASE = timedelta(minutes=10)
"""How long a claimed row may stay `sending`. A send is one HTTP call with a 10-second timeout
(and a few quick retries), so a row still sending after ten minutes has lost its sender."""
OUTCOME_UNKNOWN = "outcome unknown: the sender stopped while sending"

WindowCheck = Callable[[OutboxMessage, datetime], Awaitable[str | None]]
"""Why a claimed row may not go by customer service now (None: it may)."""


@dataclass(frozen=True)
class TextMessage:
    text: str


@dataclass(frozen=True)
class NewsMessage:
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class TemplateMessage:
    template_id: str
    data: Mapping[str, str]
    url: str | None = None


Payload = TextMessage | NewsMessage | TemplateMessage


class DeliveryStatus(StrEnum):
    SENT = "sent"
    DRY_RUN = "dry_run"
    """Recorded as sent without calling WeChat (WECHAT_DRY_RUN)."""
    OUTSIDE_WINDOW = "outside_window"
    """45015/45047, or the window's allowance used (`window`): the caller should send a template
    message instead (row skipped)."""
    UNREACHABLE = "unreachable"
    """43004/43101: the member is marked unreachable (row skipped)."""
    QUOTA = "quota"
    """45009: today's quota is used up (row failed; a later deliver may try again)."""
    RETRY_LATER = "retry_later"
    """Not sent now, may succeed later: row queued with `not_before` set (also: not yet due)."""
    FAILED = "failed"
    """Permanent error, or the attempts are used up."""
    DUPLICATE = "duplicate"
    """Nothing done: the row was already sent, is being sent, or was settled before."""


def payload_to_json(payload: Payload) -> dict[str, Any]:
    if isinstance(payload, TextMessage):
        return {"msgtype": "text", "text": payload.text}
    if isinstance(payload, NewsMessage):
        return {"msgtype": "news", "articles": [a.to_json() for a in payload.articles]}
    return {
        "msgtype": "template",
        "template_id": payload.template_id,
        "data": dict(payload.data),
        "url": payload.url,
    }


def payload_from_json(data: Mapping[str, Any]) -> Payload:
    msgtype = data.get("msgtype")
    if msgtype == "text":
        return TextMessage(text=str(data["text"]))
    if msgtype == "news":
        return NewsMessage(articles=tuple(Article(**a) for a in data["articles"]))
    if msgtype == "template":
        return TemplateMessage(
            template_id=str(data["template_id"]),
            data={str(k): str(v) for k, v in data["data"].items()},
            url=data.get("url"),
        )
    raise ValueError(f"unknown outbox payload type {msgtype!r}")


class Outbox:
    """Built once per process (stored in Deps as `outbox`)."""

    def __init__(
        self,
        *,
        api: WeChatAPI,
        settings: Settings,
        clock: Clock,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._api = api
        self._dry_run = settings.dry_run
        self._clock = clock
        self._max_attempts = max_attempts

    async def enqueue(
        self,
        *,
        openid: str,
        kind: str,
        key: str,
        payload: Payload,
        member_id: int | None = None,
        not_before: datetime | None = None,
    ) -> OutboxMessage:
        """Record a message to send; the same `key` again returns the first row unchanged."""
        _check(openid=openid, kind=kind, key=key, payload=payload, not_before=not_before)
        existing = await OutboxMessage.get_or_none(idempotency_key=key)
        if existing is not None:
            return existing
        channel = (
            OutboxChannel.TEMPLATE if isinstance(payload, TemplateMessage) else OutboxChannel.CUSTOM
        )
        try:
            return await OutboxMessage.create(
                idempotency_key=key,
                openid=openid,
                member_id=member_id,
                kind=kind,
                channel=channel,
                payload=payload_to_json(payload),
                not_before=not_before,
            )
        except IntegrityError:
            # Another worker recorded the same key between our read and our insert.
            return await OutboxMessage.get(idempotency_key=key)

    async def send_now(
        self,
        *,
        openid: str,
        kind: str,
        key: str,
        payload: Payload,
        member_id: int | None = None,
    ) -> DeliveryStatus:
        row = await self.enqueue(
            openid=openid, kind=kind, key=key, payload=payload, member_id=member_id
        )
        return await self.deliver(row.id)

    async def deliver(self, outbox_id: int, *, window: WindowCheck | None = None) -> DeliveryStatus:
        """Send one row if it is due and nobody else has it; record and return the outcome."""
        now = self._clock.now()
        claimed = await OutboxMessage.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            claimable(),
            id=outbox_id,
            attempts__lt=self._max_attempts,
        ).update(status=OutboxStatus.SENDING, attempts=F("attempts") + 1, updated_at=now)
        if not claimed:
            return await self._not_claimed(outbox_id, now)
        row = await OutboxMessage.get(id=outbox_id)
        if window is not None and row.channel is OutboxChannel.CUSTOM:
            # Asked after the claim: of two senders racing for one member's last allowed
            # message, at least one sees the other's row `sending` and holds back.
            closed = await window(row, now)
            if closed is not None:
                await self._settle(row, OutboxStatus.SKIPPED, last_error=closed[:255])
                return DeliveryStatus.OUTSIDE_WINDOW
        if self._dry_run:
            await self._settle(row, OutboxStatus.SENT, dry_run=True, sent_at=now)
            return DeliveryStatus.DRY_RUN
        try:
            payload = payload_from_json(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            # A row written by hand or by an older version: no retry can fix it.
            await self._settle(row, OutboxStatus.FAILED, last_error=f"bad payload: {exc}"[:255])
            return DeliveryStatus.FAILED
        try:
            result = await self._send(row, payload)
        except WeChatAPIError as exc:
            return await self._failed(row, exc, now)
        await self._settle(row, OutboxStatus.SENT, sent_at=now, wechat_msgid=result.msgid)
        return DeliveryStatus.SENT

    async def _send(self, row: OutboxMessage, payload: Payload) -> SendResult:
        if isinstance(payload, TextMessage):
            return await self._api.send_text(row.openid, payload.text)
        if isinstance(payload, NewsMessage):
            return await self._api.send_news(row.openid, payload.articles)
        # The row id names this message for WeChat's own de-duplication of template sends.
        return await self._api.send_template(
            row.openid,
            payload.template_id,
            payload.data,
            payload.url,
            client_msg_id=f"clubbot-outbox-{row.id}",
        )

    async def _failed(
        self, row: OutboxMessage, exc: WeChatAPIError, now: datetime
    ) -> DeliveryStatus:
        error = f"{exc.errcode} {exc.errmsg}"[:255]
        log.warning(
            "outbox %s (%s to %s): %s", row.id, row.kind, mask_openid(row.openid), exc.result
        )
        if isinstance(exc, OutsideWindow):
            await self._settle(row, OutboxStatus.SKIPPED, last_error=error)
            return DeliveryStatus.OUTSIDE_WINDOW
        if isinstance(exc, MemberUnreachable):
            await self._settle(row, OutboxStatus.SKIPPED, last_error=error)
            members = (
                Member.filter(id=row.member_id)
                if row.member_id is not None
                else Member.filter(openid=row.openid)
            )
            await members.update(unreachable_at=now, unreachable_reason=error[:64])
            return DeliveryStatus.UNREACHABLE
        if isinstance(exc, QuotaExceeded):
            # WeChat's daily quotas reset at midnight (China time); no point trying before.
            tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            await self._settle(row, OutboxStatus.FAILED, last_error=error, not_before=tomorrow)
            return DeliveryStatus.QUOTA
        transient = exc.retryable or isinstance(exc, TokenInvalid)
        if transient and row.attempts < self._max_attempts:
            delay = min(RETRY_MAX, RETRY_BASE * 2 ** (row.attempts - 1))
            await self._settle(row, OutboxStatus.QUEUED, last_error=error, not_before=now + delay)
            return DeliveryStatus.RETRY_LATER
        await self._settle(row, OutboxStatus.FAILED, last_error=error)
        return DeliveryStatus.FAILED

    async def _settle(self, row: OutboxMessage, status: OutboxStatus, **fields: Any) -> None:
        # Only the claimant (status still `sending`) may write the outcome.
        await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENDING).update(
            status=status, **fields
        )

    async def _not_claimed(self, outbox_id: int, now: datetime) -> DeliveryStatus:
        row = await OutboxMessage.get_or_none(id=outbox_id)
        if row is None:
            raise LookupError(f"no outbox message {outbox_id}")
        if row.status in (OutboxStatus.QUEUED, OutboxStatus.FAILED):
            if row.attempts >= self._max_attempts or row.last_error == OUTCOME_UNKNOWN:
                return DeliveryStatus.FAILED
            return DeliveryStatus.RETRY_LATER  # not due yet (quiet hours, back-off)
        return DeliveryStatus.DUPLICATE


def claimable() -> Q:
    """Rows a sender may claim: queued, or failed in a way that trying again cannot duplicate."""
    # NOT (NULL = x) is NULL in SQL, so a failed row without an error is let through explicitly.
    known = Q(last_error__isnull=True) | ~Q(last_error=OUTCOME_UNKNOWN)
    failed_safely = Q(status=OutboxStatus.FAILED) & known
    return Q(status=OutboxStatus.QUEUED) | failed_safely


async def settle_abandoned(now: datetime) -> int:
    """Settle rows left `sending` past their lease as failed, outcome unknown; never resend."""
    stale = OutboxMessage.filter(status=OutboxStatus.SENDING, updated_at__lte=now - SENDING_LEASE)
    ids: list[Any] = await stale.order_by("id").limit(1000).values_list("id", flat=True)
    if not ids:
        return 0
    # Conditional on `sending` still: a sender answering at this moment keeps its outcome.
    settled = await OutboxMessage.filter(id__in=ids, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.FAILED, last_error=OUTCOME_UNKNOWN, updated_at=now
    )
    if settled:
        shown = ", ".join(str(i) for i in ids[:20]) + (", ..." if len(ids) > 20 else "")
        log.warning(
            "%d outbox row(s) left sending for over %s settled as failed, outcome unknown "
            "(not resent; check with the member if it matters): %s",
            settled,
            SENDING_LEASE,
            shown,
        )
    return int(settled)


def _check(
    *, openid: str, kind: str, key: str, payload: Payload, not_before: datetime | None
) -> None:
    """Refuse bad input before anything is written."""
    if not openid or len(openid) > 64:
        raise ValueError("openid must be 1-64 characters")
    if not kind or len(kind) > 32:
        raise ValueError("kind must be 1-32 characters")
    if not key or len(key) > 128:
        raise ValueError("idempotency key must be 1-128 characters")
    if not_before is not None and not_before.tzinfo is None:
        raise ValueError("not_before must be an aware datetime")
    if isinstance(payload, TextMessage) and not payload.text:
        raise ValueError("a text message needs text")
    if isinstance(payload, NewsMessage) and not payload.articles:
        raise ValueError("a news message needs at least one article")
    if isinstance(payload, TemplateMessage) and not payload.template_id:
        raise ValueError("a template message needs a template id")
