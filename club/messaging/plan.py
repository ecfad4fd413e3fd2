"""How a message reaches a member, decided in one place (every message the club sends).

Pure: rules and time arithmetic only. WeChat lets us message a member proactively in two ways:
a customer-service message while the member's window is open and its message allowance is not
used up, or a template message where the programme maps the announcement to a template. With
neither, the message is recorded as skipped with the reason, never sent some other way. Quiet
hours (21:00-09:00 by default) delay a message to the end of the quiet period; the window is
judged at that later time. Members who unfollowed, blocked us, were deleted or were found
unreachable get nothing, and a marketing message (`club.messaging.kinds`) to a member who had
the week's share already (`marketing_per_week`) is skipped: the frequency cap.

The window, as WeChat documents it since June 2023 (developers.weixin.qq.com/doc/offiaccount/
Customer_Service/Customer_Service_Messages.html, "客服消息下发规则"): a member's own message
allows 5 customer-service messages within 48 hours; a menu click (click or scancode push), a
follow or a QR scan allows 3 within one minute, and a click does not give a message's allowance.
Each opening is judged on its own, counting the messages sent since it: a new message renews
the allowance instead of adding to what is left (as the mini-program pages say; the official
account pages are silent). So a proactive message in practice rides only on the member's last
message. The counts come from the outbox (`club.messaging.window`), the numbers from the programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from club.messaging.kinds import is_marketing
from club.rules.programme import Programme


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
    """How long a member's message keeps the window open."""
    window_after_event: timedelta = timedelta(minutes=1)
    """How long a click, scan or follow keeps it open (WeChat: one minute)."""
    window_margin: timedelta = timedelta(minutes=15)
    """Time a queued message may take to go out; a window closing sooner is treated as closed."""
    messages_after_message: int = 5
    """Customer-service messages a member's message allows (WeChat since June 2023: 5)."""
    messages_after_event: int = 3
    """Customer-service messages a click, scan or follow allows (WeChat: 3)."""
    marketing_per_week: int | None = None
    """The frequency cap: marketing messages a member may get in 7 days (None: no cap)."""


@dataclass(frozen=True)
class Contact:
    """What the rules need to know about one member."""

    status: str
    last_interaction_at: datetime | None
    """The latest message or event (click, scan, follow) from the member."""
    unreachable: bool = False
    last_message_at: datetime | None = None
    """The member's latest own message (None: never wrote)."""
    custom_sent: tuple[datetime, ...] = ()
    """When recent customer-service messages went to the member (sent, or being sent)."""
    marketing_recent: int = 0
    """Marketing messages queued, sent or being sent to the member in the last 7 days."""

    def sent_since(self, opened: datetime) -> int:
        """Customer-service messages counted against a window opened at `opened`."""
        return sum(1 for sent in self.custom_sent if sent >= opened)


@dataclass(frozen=True)
class Plan:
    """The decision for one message: a channel and earliest send time, or a skip reason."""

    channel: Channel | None
    not_before: datetime | None = None
    skipped: str | None = None
    """Why it cannot go, in words (kept on the outbox row)."""
    reason: str | None = None
    """The same as a short name for counting: member_unfollowed, unreachable, frequency_cap,
    no_channel."""

    @property
    def sendable(self) -> bool:
        return self.channel is not None


def delivery_rules(programme: Programme) -> DeliveryRules:
    """The rules as the club programme configures them."""
    d = programme.delivery
    return DeliveryRules(
        quiet=QuietHours(d.quiet_start, d.quiet_end),
        window=timedelta(hours=d.window_hours),
        window_after_event=timedelta(minutes=d.window_minutes_after_event),
        messages_after_message=d.window_messages_after_message,
        messages_after_event=d.window_messages_after_event,
        marketing_per_week=d.marketing_per_week,
    )


def plan_delivery(
    contact: Contact, kind: str, rules: DeliveryRules, now: datetime, *, has_template: bool
) -> Plan:
    """Choose how (and from when) a message of `kind` goes to this member, or why it cannot;
    `has_template`: the programme maps this announcement to a template."""
    return Planner(rules, now).plan(contact, kind, has_template=has_template)


class Planner:
    """`plan_delivery` for many members at one `now` (a greeting batch): the quiet hours' send
    time is worked out once, and the plans every member with an open window (or none, with a
    template) gets are made once and shared (they are frozen)."""

    def __init__(self, rules: DeliveryRules, now: datetime) -> None:
        self.rules = rules
        self.now = now
        self.send_at = rules.quiet.next_allowed(now)
        self.not_before = None if self.send_at == now else self.send_at
        self._custom = Plan(Channel.CUSTOM, not_before=self.not_before)
        self._template = Plan(Channel.TEMPLATE, not_before=self.not_before)

    def plan(self, contact: Contact, kind: str, *, has_template: bool) -> Plan:
        if contact.status != MESSAGEABLE_STATUS:
            return Plan(
                None, skipped=f"skipped: member {contact.status}", reason=f"member_{contact.status}"
            )
        if contact.unreachable:
            return Plan(None, skipped="skipped: member unreachable", reason="unreachable")
        cap = self.rules.marketing_per_week
        if cap is not None and is_marketing(kind) and contact.marketing_recent >= cap:
            return Plan(
                None,
                skipped=f"skipped: frequency cap ({contact.marketing_recent} marketing messages "
                f"in 7 days, at most {cap})",
                reason="frequency_cap",
            )
        if window_open(contact, self.rules, self.send_at):
            return self._custom
        if has_template:
            return self._template
        closed = window_closed(contact, self.rules, self.send_at)
        return Plan(
            None,
            skipped=f"skipped: no channel ({closed} and no template for {kind!r})",
            reason="no_channel",
        )


def window_open(contact: Contact, rules: DeliveryRules, at: datetime) -> bool:
    """Whether a customer-service message sent at `at` is within the member's window.

    The same judgement as `window_closed(...) is None`, without writing the reason (a greeting
    batch asks it for thousands of members; a test holds the two together).
    """
    message = contact.last_message_at
    margin = rules.window_margin
    if (
        message is not None
        and message + rules.window - margin > at
        and contact.sent_since(message) < rules.messages_after_message
    ):
        return True
    event = contact.last_interaction_at
    return (
        event is not None
        and (message is None or event > message)
        and event + rules.window_after_event - margin > at
        and contact.sent_since(event) < rules.messages_after_event
    )


def window_closed(contact: Contact, rules: DeliveryRules, at: datetime) -> str | None:
    """Why a customer-service message sent at `at` would be refused, or None if it would not.

    The message opening and the event opening are separate allowances: either one still open
    with messages left will do.
    """
    openings: list[tuple[str, datetime, timedelta, int]] = []
    message = contact.last_message_at
    if message is not None:
        openings.append(("message", message, rules.window, rules.messages_after_message))
    event = contact.last_interaction_at
    if event is not None and (message is None or event > message):
        after_event = rules.messages_after_event
        openings.append(("click or scan", event, rules.window_after_event, after_event))
    if not openings:
        return "window closed: the member never wrote or clicked"
    reasons = []
    for what, opened, length, allowed in openings:
        stamp = opened.isoformat(timespec="minutes")
        if opened + length - rules.window_margin <= at:
            reasons.append(f"window closed: the member's last {what} was at {stamp}")
            continue
        sent = contact.sent_since(opened)
        if sent < allowed:
            return None
        reasons.append(
            f"window allowance used: {sent} of {allowed} customer-service messages "
            f"since the member's {what} at {stamp}"
        )
    return reasons[0]
