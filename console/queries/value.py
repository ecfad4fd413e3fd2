"""What the member page, the ticket page and the dashboard show of customer value, service and
campaigns: the member's value class and churn flag, their tickets, a ticket's heading, the
churn-risk and key-customer counts, the campaigns in flight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from club.campaigns.progress import Progress, progress_of
from club.db.models.campaigns import Campaign
from club.db.models.members import Member
from club.db.models.service import Ticket
from club.db.models.value import MemberChurn, MemberValue

IN_FLIGHT = ("scheduled", "sending", "paused")
"""A campaign's statuses while it has sending to do (the dashboard shows those campaigns)."""


@dataclass(frozen=True)
class ValueFacts:
    value_class: str | None
    quadrant: str | None
    potential: str | None
    as_of: date | None
    churn_since: date | None
    churn_reason_zh: str | None
    churn_reason_en: str | None
    churn_level: str | None
    """high (silent and spending less), medium (one of the two), None: not flagged."""


@dataclass(frozen=True)
class TicketRow:
    id: int
    status: str
    opened_at: datetime
    last_member_message_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class TicketHead:
    id: int
    member_id: int
    member_name: str | None
    status: str
    opened_at: datetime
    value_class: str | None


async def member_value_facts(member_id: int) -> ValueFacts:
    value = await MemberValue.get_or_none(member_id=member_id)
    churn = await MemberChurn.get_or_none(member_id=member_id)
    level = None
    if churn is not None:
        level = "high" if churn.silent and churn.spend_fell else "medium"
    return ValueFacts(
        value_class=value.value_class if value else None,
        quadrant=value.quadrant if value else None,
        potential=value.potential if value else None,
        as_of=value.day if value else None,
        churn_since=churn.since if churn else None,
        churn_reason_zh=churn.reason_zh if churn else None,
        churn_reason_en=churn.reason_en if churn else None,
        churn_level=level,
    )


async def member_tickets(member_id: int, limit: int = 20) -> list[TicketRow]:
    rows = await Ticket.filter(member_id=member_id).order_by("-id").limit(limit)
    return [
        TicketRow(
            id=t.id,
            status=str(t.status),
            opened_at=t.opened_at,
            last_member_message_at=t.last_member_message_at,
            answered_at=t.answered_at,
            closed_at=t.closed_at,
        )
        for t in rows
    ]


async def ticket_head(ticket_id: int) -> TicketHead | None:
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None:
        return None
    member = await Member.get_or_none(id=ticket.member_id)
    value = await MemberValue.get_or_none(member_id=ticket.member_id)
    return TicketHead(
        id=ticket.id,
        member_id=ticket.member_id,
        member_name=member.name if member else None,
        status=str(ticket.status),
        opened_at=ticket.opened_at,
        value_class=value.value_class if value else None,
    )


@dataclass(frozen=True)
class ValueCounts:
    churn_risk: int
    churn_high: int
    key_customers: int
    as_of: date | None


async def value_counts() -> ValueCounts:
    """Members on today's churn list (and those both silent and spending less), and key
    customers (value class A of the last value-refresh)."""
    latest = await MemberValue.all().order_by("-day").first().values_list("day", flat=True)
    return ValueCounts(
        churn_risk=await MemberChurn.all().count(),
        churn_high=await MemberChurn.filter(silent=True, spend_fell=True).count(),
        key_customers=await MemberValue.filter(value_class="A").count(),
        as_of=latest if isinstance(latest, date) else None,
    )


@dataclass(frozen=True)
class InFlight:
    id: int
    name: str
    status: str
    progress: Progress


async def campaigns_in_flight(limit: int) -> list[InFlight]:
    """The `limit` newest campaigns scheduled, sending or paused, each with its progress: one
    grouped count for all of them (`progress_of`), not a campaign page each, whose effect and
    runs the dashboard does not show."""
    campaigns = await Campaign.filter(status__in=IN_FLIGHT).order_by("-id").limit(limit)
    progress = await progress_of([c.id for c in campaigns])
    return [InFlight(c.id, c.name, c.status.value, progress[c.id]) for c in campaigns]
