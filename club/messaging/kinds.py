"""Kinds of message, and the two rules that follow from a kind: whether it counts against the
frequency cap, and what may happen when WeChat's answer to it is lost.

Pure: standard library only.

Marketing messages (greetings, reminders, campaigns) are capped together: the programme says
how many a member may get in seven days, so that campaigns, greetings and reminders never flood
a member. Service messages (replies, notices of points and tier changes, vouchers, answers from
staff) are what the member needs to know and are never capped.

Delivery guarantees. WeChat gives customer-service messages no idempotency key: a send whose
answer was lost (a timeout after the request went out, a 5xx, a dropped connection) may or may
not have reached the member, and sending it again may show it twice. A greeting twice does harm
(DOMAIN.md, 7), a points notice twice reads as points twice, a reply twice confuses; so every
customer-service kind is AT_MOST_ONCE: such a send is recorded as "outcome unknown" and never
repeated. Template messages carry `client_msg_id` (WeChat sends one message per openid and id
within 10 minutes), so they are retried after a lost answer within that window and recorded as
"outcome unknown" after it; mass sends carry `clientmsgid` (45065 for a repeat), so they are
retried freely.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Kind(StrEnum):
    """What a message is for (the outbox's `kind` column)."""

    REPLY = "reply"
    """A chat answer that missed WeChat's 5 seconds and goes by the customer-service API."""
    NOTICE = "notice"
    """A short service notice in chat (a binding code, "still working on it")."""
    BIRTHDAY = "birthday"
    FESTIVAL = "festival"
    POINTS_EXPIRY = "points_expiry"
    TIER_CHANGE = "tier_change"
    POINTS_CHANGE = "points_change"
    """Points moved by something the member did not do in chat: a purchase, return, adjustment."""
    VOUCHER = "voucher"
    CAMPAIGN = "campaign"
    TICKET = "ticket"
    """A staff member's answer to the member's request for a person."""


MARKETING = frozenset({Kind.BIRTHDAY, Kind.FESTIVAL, Kind.POINTS_EXPIRY, Kind.CAMPAIGN})
"""Kinds the frequency cap counts; every other kind is a service message."""


def is_marketing(kind: str) -> bool:
    return kind in MARKETING


class Guarantee(StrEnum):
    AT_MOST_ONCE = "at_most_once"
    """Never sent again once a send may have reached WeChat."""
    IDEMPOTENT_WINDOW = "idempotent_window"
    """WeChat de-duplicates by our id for `TEMPLATE_DEDUP_WINDOW`: retried within it."""
    IDEMPOTENT = "idempotent"
    """WeChat de-duplicates by our id for good: retried until the attempts are used up."""


CLIENT_MSG_ID_WINDOW = timedelta(minutes=10)
"""How long WeChat de-duplicates a template message by openid + `client_msg_id`. WeChat's
template-message API documentation (Official Account, 模板消息接口, 发送模板消息, parameter
`client_msg_id`): "防重入id。对于同一个openid + client_msg_id, 只发送一条消息, 10分钟有效,
超过10分钟不保证效果" (one message per openid and id, valid 10 minutes, not assured after)."""
TEMPLATE_DEDUP_WINDOW = CLIENT_MSG_ID_WINDOW - timedelta(minutes=1)
"""How long after its first unanswered attempt (the first WeChat may have taken) a template
message may still be sent again: WeChat's window less a minute kept for the send itself (its
HTTP call, a worker's delay in taking it). Judged by `club.messaging.outcomes.may_repeat`."""


def guarantee(channel: str) -> Guarantee:
    """The delivery guarantee of a message by its channel (the outbox's `channel` column)."""
    if channel == "template":
        return Guarantee.IDEMPOTENT_WINDOW
    if channel == "mass":
        return Guarantee.IDEMPOTENT
    return Guarantee.AT_MOST_ONCE
