"""Request and answer shapes of group accounts, relationship managers and service tickets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.staff_api.schemas import ONE_LINE, In, MemberId, Out


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
