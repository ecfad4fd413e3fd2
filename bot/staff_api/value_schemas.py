"""Request and answer shapes of group accounts, relationship managers and service tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from bot.staff_api.schemas import MAX_ID, MULTI_LINE, ONE_LINE, In, MemberId, Out
from club.value.tickets import TicketStatus


class AccountIn(In):
    name: Annotated[str, Field(min_length=1, max_length=128), ONE_LINE] = Field(
        description="The organisation's name; the same name again is the same account"
    )


class ContactIn(In):
    member_id: MemberId


class AccountContactOut(Out):
    member_id: int
    name: str | None


class AccountOut(Out):
    id: int
    name: str
    created: bool = Field(default=False, description="True when this request opened it")
    tier: str = Field(description="From the account's own qualifying spend")
    tier_name: str
    spend_fen: int = Field(description="Orders booked to the account over the review months")
    contacts: list[AccountContactOut]


# Service tickets ---------------------------------------------------------------------------


class TicketsQuery(In):
    status: TicketStatus = TicketStatus.OPEN
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class TicketOut(Out):
    id: int
    member_id: int
    name: str | None
    value_class: str | None
    account: str | None = Field(description="The group-purchase account the member buys for")
    key_customer: bool = Field(description="Value class A or a group account's contact")
    status: str
    opened_at: datetime
    last_member_message_at: datetime
    answered_at: datetime | None
    last_text: str | None


class TicketList(Out):
    tickets: list[TicketOut] = Field(description="Key customers first, then B, C, the rest")


class TicketLineOut(Out):
    id: int
    from_staff: int | None = Field(description="The staff account that wrote it; null: the member")
    text: str
    at: datetime


class TicketDetail(Out):
    id: int
    lines: list[TicketLineOut]


class AnswerIn(In):
    text: Annotated[str, Field(min_length=1, max_length=2000), MULTI_LINE]


class AnswerOut(Out):
    ticket_id: int
    member_id: int
    message_id: int
    text: str
    at: datetime


class CloseIn(In):
    note: Annotated[str, Field(max_length=255), ONE_LINE] = Field(
        default="", description="Why, in a word (kept in the audit log); `{}` for none"
    )


class TicketClosedOut(Out):
    ticket_id: int
    member_id: int
    closed_at: datetime
    changed: bool = Field(description="False when it was closed already")


# Relationship managers -----------------------------------------------------------------------


class ManagerIn(In):
    staff_id: MemberId = Field(description="The staff account to manage this key customer")


class ManagerOut(Out):
    member_id: int
    staff_id: int
    staff_name: str
    assigned_at: datetime
    changed: bool


class StaffContactIn(In):
    channel: Literal["phone", "visit", "wechat"]
    note: Annotated[str, Field(max_length=255), ONE_LINE] = ""


class StaffContactOut(Out):
    id: int
    member_id: int
    staff_id: int
    channel: str
    at: datetime


class NeglectedQuery(In):
    days: int = Field(default=30, ge=1, le=3650, description="Not contacted for this many days")
    staff_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Another manager's list (admins and marketers); default: yours",
    )


class NeglectedOut(Out):
    member_id: int
    name: str | None
    value_class: str | None
    account: str | None
    last_contact_at: datetime | None = Field(description="null: never contacted by staff")


class NeglectedList(Out):
    staff_id: int
    days: int
    customers: list[NeglectedOut]
