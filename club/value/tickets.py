"""Service tickets: `人工` in chat opens one; staff answer and close it through the API.

While a ticket is open the member's messages go to it (the callback reads `open_ticket_id`
with the contact row it reads anyway, so members without a ticket cost nothing more). Staff see
the open tickets key customers first (value class A and group-account contacts, then B, C,
members never valued). An answer, and a close by staff, are told to the member through the
outbox in their own transaction (a customer-service message inside the window, the programme's
template outside it; never held for quiet hours: the member asked for a person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from club.db.models.members import Member
from club.db.models.service import ContactChannel, StaffContact, Ticket, TicketMessage
from club.db.models.service import TicketStatus as TicketStatus
from club.db.tx import transaction
from club.messaging import announcements
from club.messaging.keys import outbox_key
from club.messaging.outbox import Outbox
from club.reports.sql import fetch
from club.rules.programme import Programme

log = logging.getLogger(__name__)
MAX_TEXT = 2000


class TicketError(ValueError):
    """The ticket cannot be changed as asked; nothing changed."""


class UnknownTicket(LookupError):
    pass


@dataclass(frozen=True)
class Telling:
    """How staff actions on a ticket reach the member."""

    programme: Programme
    outbox: Outbox


@dataclass(frozen=True)
class TicketOpened:
    ticket_id: int
    member_id: int
    already_open: bool


@dataclass(frozen=True)
class TicketAnswer:
    """An answer to deliver to the member (by messaging: see the module's docstring)."""

    ticket_id: int
    member_id: int
    openid: str
    message_id: int
    text: str
    staff_id: int
    at: datetime


@dataclass(frozen=True)
class TicketClosed:
    ticket_id: int
    member_id: int
    openid: str
    by_staff: int | None
    at: datetime
    changed: bool


@dataclass(frozen=True)
class TicketRow:
    id: int
    member_id: int
    name: str | None
    value_class: str | None
    account: str | None
    key_customer: bool
    status: str
    opened_at: datetime
    last_member_message_at: datetime
    answered_at: datetime | None
    last_text: str | None


@dataclass(frozen=True)
class TicketLine:
    id: int
    from_staff: int | None
    text: str
    at: datetime


async def open_ticket(member_id: int, *, now: datetime) -> TicketOpened:
    """Open a ticket for the member, or return the one already open."""
    async with in_transaction() as conn:
        member = await Member.filter(id=member_id).using_db(conn).select_for_update().first()
        if member is None:
            raise TicketError(f"no member with id {member_id}")
        if member.open_ticket_id is not None:
            return TicketOpened(member.open_ticket_id, member_id, True)
        ticket = await Ticket.create(
            using_db=conn, member_id=member_id, opened_at=now, last_member_message_at=now
        )
        await Member.filter(id=member_id).using_db(conn).update(open_ticket_id=ticket.id)
    log.info("ticket opened id=%s member=%s", ticket.id, member_id)
    return TicketOpened(ticket.id, member_id, False)


async def add_member_message(ticket_id: int, member_id: int, text: str, *, now: datetime) -> bool:
    """Put the member's message on their open ticket; False when it is no longer open."""
    async with in_transaction() as conn:
        updated = (
            await Ticket.filter(id=ticket_id, member_id=member_id, status=TicketStatus.OPEN)
            .using_db(conn)
            .update(last_member_message_at=now)
        )
        if not updated:
            await _release(conn, member_id, ticket_id)
            return False
        await TicketMessage.create(using_db=conn, ticket_id=ticket_id, text=text[:MAX_TEXT], at=now)
    return True


async def _release(conn: BaseDBAsyncClient, member_id: int, ticket_id: int) -> None:
    """The member's messages stop going to this ticket."""
    await (
        Member.filter(id=member_id, open_ticket_id=ticket_id)
        .using_db(conn)
        .update(open_ticket_id=None)
    )


async def close_ticket(
    ticket_id: int,
    *,
    now: datetime,
    staff_id: int | None,
    tell: Telling | None = None,
) -> TicketClosed:
    """Close the ticket (by staff, or by the member in chat with None); closing twice is one.
    Closed by staff, the member is told (`tell`): chat is theirs again."""
    async with transaction() as conn:
        ticket = await Ticket.filter(id=ticket_id).using_db(conn).select_for_update().first()
        if ticket is None:
            raise UnknownTicket(f"no ticket with id {ticket_id}")
        openid = await _openid(ticket.member_id)
        if ticket.status == TicketStatus.CLOSED:
            return TicketClosed(
                ticket.id,
                ticket.member_id,
                openid,
                ticket.closed_by,
                ticket.closed_at or now,
                False,
            )
        await (
            Ticket.filter(id=ticket_id)
            .using_db(conn)
            .update(status=TicketStatus.CLOSED, closed_at=now, closed_by=staff_id)
        )
        await _release(conn, ticket.member_id, ticket_id)
        if tell is not None and staff_id is not None:
            await tell.outbox.tell(
                announcements.ticket_closed(tell.programme, now),
                key=outbox_key("ticket", ticket_id, "closed"),
                now=now,
                member_id=ticket.member_id,
            )
    log.info("ticket closed id=%s by=%s", ticket_id, staff_id)
    return TicketClosed(ticket.id, ticket.member_id, openid, staff_id, now, True)


async def answer_ticket(
    ticket_id: int, text: str, *, staff_id: int, now: datetime, tell: Telling | None = None
) -> TicketAnswer:
    """Record a staff answer (and the staff contact it is), told to the member (`tell`) in the
    same transaction, keyed by the answer."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise TicketError(f"text: 1..{MAX_TEXT} characters")
    async with transaction() as conn:
        ticket = await Ticket.filter(id=ticket_id).using_db(conn).first()
        if ticket is None:
            raise UnknownTicket(f"no ticket with id {ticket_id}")
        if ticket.status != TicketStatus.OPEN:
            raise TicketError(f"ticket {ticket_id} is closed")
        message = await TicketMessage.create(
            using_db=conn, ticket_id=ticket_id, staff_id=staff_id, text=text, at=now
        )
        await Ticket.filter(id=ticket_id).using_db(conn).update(answered_at=now)
        await StaffContact.create(
            using_db=conn,
            member_id=ticket.member_id,
            staff_id=staff_id,
            channel=ContactChannel.TICKET,
            note=f"ticket {ticket_id}",
            at=now,
        )
        if tell is not None:
            await tell.outbox.tell(
                announcements.ticket_answer(tell.programme, text, now),
                key=outbox_key("ticket", ticket_id, "answer", message.id),
                now=now,
                member_id=ticket.member_id,
            )
    openid = await _openid(ticket.member_id)
    return TicketAnswer(ticket_id, ticket.member_id, openid, message.id, text, staff_id, now)


async def _openid(member_id: int) -> str:
    rows = await Member.filter(id=member_id).values_list("openid", flat=True)
    return str(rows[0]) if rows else ""


KEY_RANK = (
    "CASE WHEN gc.member_id IS NOT NULL OR mv.value_class = 'A' THEN 0"
    " WHEN mv.value_class = 'B' THEN 1 WHEN mv.value_class = 'C' THEN 2 ELSE 3 END"
)


async def list_tickets(status: TicketStatus, *, limit: int, offset: int) -> list[TicketRow]:
    """Tickets key customers first (class A and group-account contacts), then B, C, the rest;
    within a rank the longest waiting first."""
    rows = await fetch(
        "SELECT t.id, t.member_id, m.name, mv.value_class, ga.name AS account,"
        f" {KEY_RANK} AS key_rank, t.status, t.opened_at, t.last_member_message_at,"
        " t.answered_at, (SELECT tm.text FROM ticket_message tm WHERE tm.ticket_id = t.id"
        " ORDER BY tm.id DESC LIMIT 1) AS last_text"
        " FROM ticket t JOIN member m ON m.id = t.member_id"
        " LEFT JOIN member_value mv ON mv.member_id = t.member_id"
        " LEFT JOIN group_account_contact gc ON gc.member_id = t.member_id"
        " LEFT JOIN group_account ga ON ga.id = gc.account_id"
        f" WHERE t.status = :status ORDER BY {KEY_RANK}, t.opened_at, t.id"
        " LIMIT :limit OFFSET :offset",
        {"status": status.value, "limit": limit, "offset": offset},
    )
    return [
        TicketRow(
            id=int(r["id"]),
            member_id=int(r["member_id"]),
            name=r["name"],
            value_class=r["value_class"],
            account=r["account"],
            key_customer=int(r["key_rank"]) == 0,
            status=str(r["status"]),
            opened_at=_dt(r["opened_at"]),
            last_member_message_at=_dt(r["last_member_message_at"]),
            answered_at=None if r["answered_at"] is None else _dt(r["answered_at"]),
            last_text=r["last_text"],
        )
        for r in rows
    ]


async def ticket_lines(ticket_id: int) -> list[TicketLine]:
    if not await Ticket.filter(id=ticket_id).exists():
        raise UnknownTicket(f"no ticket with id {ticket_id}")
    messages = await TicketMessage.filter(ticket_id=ticket_id).order_by("id")
    return [TicketLine(m.id, m.staff_id, m.text, m.at) for m in messages]


def _dt(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
