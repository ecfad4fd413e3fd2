"""Service by value: tickets (key customers first), relationship managers, staff contacts."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.value_schemas import (
    AnswerIn,
    AnswerOut,
    CloseIn,
    ManagerIn,
    ManagerOut,
    NeglectedList,
    NeglectedOut,
    NeglectedQuery,
    StaffContactIn,
    StaffContactOut,
    TicketClosedOut,
    TicketDetail,
    TicketLineOut,
    TicketList,
    TicketOut,
    TicketsQuery,
)
from club.staff.accounts import Permission, acts_for
from club.value import managers, tickets
from club.value.managers import ContactChannel


async def list_tickets(call: Call) -> TicketList:
    query = call.query_as(TicketsQuery)
    rows = await tickets.list_tickets(query.status, limit=query.limit, offset=query.offset)
    return TicketList(tickets=[TicketOut.model_validate(r) for r in rows])


async def get_ticket(call: Call) -> TicketDetail:
    lines = await tickets.ticket_lines(call.path["id"])
    return TicketDetail(id=call.path["id"], lines=[TicketLineOut.model_validate(x) for x in lines])


def _telling(call: Call) -> tickets.Telling:
    return tickets.Telling(call.deps.programme, call.deps.outbox)


async def answer_ticket(call: Call) -> AnswerOut:
    body = call.body_as(AnswerIn)
    answer = await tickets.answer_ticket(
        call.path["id"], body.text, staff_id=call.staff.id, now=call.now, tell=_telling(call)
    )
    call.summary["member_id"] = answer.member_id
    return AnswerOut(
        ticket_id=answer.ticket_id,
        member_id=answer.member_id,
        message_id=answer.message_id,
        text=answer.text,
        at=answer.at,
    )


async def close_ticket(call: Call) -> TicketClosedOut:
    closed = await tickets.close_ticket(
        call.path["id"], now=call.now, staff_id=call.staff.id, tell=_telling(call)
    )
    call.summary["member_id"] = closed.member_id
    return TicketClosedOut(
        ticket_id=closed.ticket_id,
        member_id=closed.member_id,
        closed_at=closed.at,
        changed=closed.changed,
    )


async def assign_manager(call: Call) -> ManagerOut:
    body = call.body_as(ManagerIn)
    result = await managers.assign_manager(
        call.path["id"], body.staff_id, now=call.now, actor_id=call.staff.id
    )
    return ManagerOut.model_validate(result)


async def log_contact(call: Call) -> StaffContactOut:
    body = call.body_as(StaffContactIn)
    row = await managers.log_contact(
        call.path["id"], call.staff.id, ContactChannel(body.channel), body.note, now=call.now
    )
    return StaffContactOut(
        id=row.id, member_id=row.member_id, staff_id=row.staff_id, channel=body.channel, at=row.at
    )


async def neglected(call: Call) -> NeglectedList:
    query = call.query_as(NeglectedQuery)
    staff_id = query.staff_id or call.staff.id
    if not acts_for(call.staff, staff_id, Permission.ASSIGN_MANAGERS):
        raise ApiError(403, "forbidden", "only admins and marketers read another manager's list")
    call.target = f"staff:{staff_id}"
    rows = await managers.neglected_customers(staff_id, query.days, now=call.now)
    return NeglectedList(
        staff_id=staff_id,
        days=query.days,
        customers=[NeglectedOut.model_validate(r) for r in rows],
    )


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/tickets",
        view=list_tickets,
        operation_id="listTickets",
        summary="List service tickets, key customers first",
        description=(
            "Members open a ticket with `人工` in chat. Key customers (value class A, group "
            "accounts' contacts) come first, then B, C and members not valued; within each, "
            "the longest waiting first."
        ),
        permission=Permission.HANDLE_TICKETS,
        query=TicketsQuery,
        response=TicketList,
        audit="ticket.list",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/tickets/{id}",
        view=get_ticket,
        operation_id="getTicket",
        summary="Read a ticket's messages, the member's and the staff's",
        permission=Permission.HANDLE_TICKETS,
        response=TicketDetail,
        audit="ticket.read",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/tickets/{id}/answers",
        view=answer_ticket,
        operation_id="answerTicket",
        summary="Answer a ticket",
        description=(
            "Records the answer and the staff contact; the member receives it as a "
            "customer-service message inside WeChat's window, else as a template message. A "
            "closed ticket cannot be answered (422)."
        ),
        permission=Permission.HANDLE_TICKETS,
        body=AnswerIn,
        response=AnswerOut,
        status=201,
        audit="ticket.answer",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/tickets/{id}/close",
        view=close_ticket,
        operation_id="closeTicket",
        summary="Close a ticket: the member's messages no longer go to it",
        permission=Permission.HANDLE_TICKETS,
        body=CloseIn,
        response=TicketClosedOut,
        audit="ticket.close",
    ),
    Endpoint(
        method="PUT",
        path="/api/v1/members/{id}/manager",
        view=assign_manager,
        operation_id="assignManager",
        summary="Assign a key customer's relationship manager",
        description=(
            "Only key customers (value class A, or a group account's contact) get one; "
            "another member is refused (409)."
        ),
        permission=Permission.ASSIGN_MANAGERS,
        body=ManagerIn,
        response=ManagerOut,
        errors={409: "The member is not a key customer"},
        audit="manager.assign",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/members/{id}/contacts",
        view=log_contact,
        operation_id="logStaffContact",
        summary="Record that you contacted a customer (a call, a visit, a WeChat chat)",
        permission=Permission.HANDLE_TICKETS,
        body=StaffContactIn,
        response=StaffContactOut,
        status=201,
        audit="contact.log",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/managers/neglected",
        view=neglected,
        operation_id="listNeglectedKeyCustomers",
        summary="List a manager's key customers nobody contacted for N days",
        permission=Permission.HANDLE_TICKETS,
        query=NeglectedQuery,
        response=NeglectedList,
        audit="manager.neglected",
    ),
]
