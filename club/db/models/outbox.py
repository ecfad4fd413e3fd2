"""The outbox: one row per outbound message, whatever the channel.

The idempotency key makes every send exactly once in effect: a retried job, a re-delivered queue
task or a repeated handler finds the row and does not send again. In dry-run mode the outbox is
the destination (status `sent`, `dry_run` true) and `python -m bot chat` shows these rows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboxChannel(StrEnum):
    CUSTOM = "custom"
    """Customer-service message, inside the 48-hour window."""
    TEMPLATE = "template"
    MASS = "mass"


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    openid = fields.CharField(max_length=64, db_index=True)
    member_id = fields.BigIntField(null=True, db_index=True)
    kind = fields.CharField(max_length=32)
    """What it is for: reply, greeting, birthday, festival, expiry, tier, campaign, notice."""
    channel = fields.CharEnumField(OutboxChannel, max_length=16, default=OutboxChannel.CUSTOM)
    payload: Any = fields.JSONField()
    """What to send: {"msgtype": "text", "text": "..."} or a template's id and data."""
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.QUEUED)
    dry_run = fields.BooleanField(default=False)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=255, null=True)
    wechat_msgid = fields.CharField(max_length=64, null=True)
    not_before = fields.DatetimeField(null=True)
    """Quiet hours: nothing goes out before this time."""
    outcome = fields.CharField(max_length=24, null=True)
    """What the last attempt came to (`club.messaging.outcomes.Outcome`): finer than status."""
    first_attempt_at = fields.DatetimeField(null=True)
    """When a sender first claimed the row (template retries are safe for 10 minutes after)."""
    maybe_sent = fields.BooleanField(default=False, db_default=False)
    """An attempt went unanswered (a timeout, a dropped connection, a sender that died while
    sending): WeChat may have the message. Once no attempt is left, the row's outcome is
    unknown, not failed (`club.messaging.outcomes.after_failure`)."""
    maybe_sent_at = fields.DatetimeField(null=True)
    """When the first attempt that went unanswered was made: a template message may be sent
    again only within WeChat's 10 minutes from it. Empty on a row marked before it was kept,
    or whose only unanswered attempt was a sender's that died (when that one began is not
    kept): its first attempt counts then, never later (`outcomes.unanswered_since`), and is
    written here at the row's next failure."""
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        # created_at: messages a day by channel and outcome (the console's dashboard).
        indexes = (("status", "not_before"), ("created_at", "channel"))
