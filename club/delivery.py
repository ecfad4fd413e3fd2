"""How a proactive message reaches a member, decided in one place (greetings, reminders, campaigns).

Pure: rules and time arithmetic only. WeChat lets us message a member proactively in two ways:
a customer-service message while the member's 48-hour window is open (they wrote, clicked or
scanned recently and the window's message allowance is not used up), or a template message
with a template id configured for that kind of message. With neither, the message is recorded
as skipped with the reason, never sent some other way. Quiet hours (21:00-09:00 by default)
delay a message to the end of the quiet period; the window is judged at that later time.
Members who unfollowed, blocked us, were deleted or were found unreachable get nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from club.programme.model import Programme


class Channel(StrEnum):
    """The same values as the outbox's channel column."""

    CUSTOM = "custom"
    TEMPLATE = "template"


MESSAGEABLE_STATUS = "active"
"""Member status that may be messaged; unfollowed, blocked and deleted never are."""


@dataclass(frozen=True)
class QuietHours:
    """A daily period with no sending, in the club's local time; `start == end` means none."""

    start: time = time(21, 0)
    end: time = time(9, 0)

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # wraps over midnight

    def next_allowed(self, now: datetime) -> datetime:
        """`now` when sending is allowed, else the end of this quiet period (same time zone)."""
        if now.tzinfo is None:
            raise ValueError("next_allowed needs an aware datetime")
        local = now.timetz().replace(tzinfo=None)
        if not self.contains(local):
            return now
        end = datetime.combine(now.date(), self.end, tzinfo=now.tzinfo)
        # Aware datetimes in a ZoneInfo: combine() applies the right offset for that day.
        return end if end > now else end + timedelta(days=1)


@dataclass(frozen=True)
class DeliveryRules:
    quiet: QuietHours = field(default_factory=QuietHours)
    window: timedelta = timedelta(hours=48)
    window_margin: timedelta = timedelta(minutes=15)
    """Time a queued message may take to go out; a window closing sooner is treated as closed."""
    window_max_messages: int | None = None
    """Customer-service messages allowed per opened window (None: not limited by us)."""
    template_ids: Mapping[str, str] = field(default_factory=dict)
    """Template id per message kind (birthday, festival, expiry, tier, campaign)."""


@dataclass(frozen=True)
class Contact:
    """What the rules need to know about one member."""

    status: str
    last_interaction_at: datetime | None
    unreachable: bool = False
    window_messages_sent: int = 0
    """Customer-service messages already sent since `last_interaction_at`."""


@dataclass(frozen=True)
class Plan:
    """The decision for one message: a channel and earliest send time, or a skip reason."""

    channel: Channel | None
    not_before: datetime | None = None
    template_id: str | None = None
    skipped: str | None = None

    @property
    def sendable(self) -> bool:
        return self.channel is not None


def delivery_rules(programme: Programme) -> DeliveryRules:
    """The rules as the club programme configures them."""
    d = programme.delivery
    return DeliveryRules(
        quiet=QuietHours(d.quiet_start, d.quiet_end),
        window=timedelta(hours=d.window_hours),
        template_ids=dict(d.templates),
    )


def plan_delivery(contact: Contact, kind: str, rules: DeliveryRules, now: datetime) -> Plan:
    """Choose how (and from when) a message of `kind` goes to this member, or why it cannot."""
    if contact.status != MESSAGEABLE_STATUS:
        return Plan(None, skipped=f"skipped: member {contact.status}")
    if contact.unreachable:
        return Plan(None, skipped="skipped: member unreachable")
    send_at = rules.quiet.next_allowed(now)
    not_before = None if send_at == now else send_at
    if window_open(contact, rules, send_at):
        return Plan(Channel.CUSTOM, not_before=not_before)
    template_id = rules.template_ids.get(kind)
    if template_id:
        return Plan(Channel.TEMPLATE, not_before=not_before, template_id=template_id)
    return Plan(
        None,
        skipped=f"skipped: no channel (window closed and no template id for {kind!r})",
    )


def window_open(contact: Contact, rules: DeliveryRules, at: datetime) -> bool:
    """Whether a customer-service message sent at `at` is within the member's window."""
    if contact.last_interaction_at is None:
        return False
    if contact.last_interaction_at + rules.window - rules.window_margin <= at:
        return False
    limit = rules.window_max_messages
    return limit is None or contact.window_messages_sent < limit


def greeting_key(member_id: int, day: date) -> str:
    """The outbox idempotency key of a member's greeting: at most one a member a day."""
    return f"greeting:{member_id}:{day.isoformat()}"
