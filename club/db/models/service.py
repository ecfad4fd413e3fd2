"""Service by value: relationship managers, staff contacts, and service tickets (人工客服).

A key customer may have a relationship manager (a staff account); every contact staff make
(a call, a visit, a ticket answer) is kept, so a manager sees whom nobody contacted for a while.
A member's chat message `人工` opens a ticket; while it is open their messages go to it
(`member.open_ticket_id`, read with the contact row the callback reads anyway).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RelationshipManager(Model):
    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField(unique=True)
    staff_id = fields.BigIntField(db_index=True)
    assigned_at = fields.DatetimeField()
    assigned_by = fields.BigIntField()

    class Meta:
        table = "relationship_manager"


class ContactChannel(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    WECHAT = "wechat"
    TICKET = "ticket"
    """An answer to the member's service ticket."""


class StaffContact(Model):
    """A member of staff reached a customer (the manager's 'nobody contacted for N days')."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField()
    staff_id = fields.BigIntField()
    channel = fields.CharEnumField(ContactChannel, max_length=16)
    note = fields.CharField(max_length=255, default="")
    at = fields.DatetimeField()

    class Meta:
        table = "staff_contact"
        indexes = (("member_id", "at"),)


class TicketStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Ticket(Model):
    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField(db_index=True)
    status = fields.CharEnumField(TicketStatus, max_length=16, default=TicketStatus.OPEN)
    opened_at = fields.DatetimeField()
    last_member_message_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.BigIntField(null=True)
    """The staff account that closed it (None: the member ended it in chat)."""

    class Meta:
        table = "ticket"
        indexes = (("status", "opened_at"),)


class TicketMessage(Model):
    id = fields.BigIntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="messages", on_delete=fields.CASCADE
    )
    ticket_id: int
    staff_id = fields.BigIntField(null=True)
    """Who answered (None: the member wrote it)."""
    text = fields.CharField(max_length=2000)
    at = fields.DatetimeField()

    class Meta:
        table = "ticket_message"
