"""A member's data rights exercised through staff: export or erase on a request made outside chat
(a phone call, a letter, at the counter), with the reason kept in the audit log.

The chat has the member's own version (`我的数据`, `删除我的数据`); this is the same service for
someone who cannot or does not use the chat. Admins only: the export holds the whole phone number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.members import member_or_404
from bot.staff_api.schemas import ONE_LINE, In, Out
from club.members.birthday_text import LunarBirthday, SolarBirthday
from club.members.data_rights import PurchaseLine, erase_member_data, export_member_data
from club.members.records import member_by_id
from club.staff.accounts import Permission


class DataRequestIn(In):
    reason: Annotated[str, Field(min_length=2, max_length=200), ONE_LINE] = Field(
        description="Why, as the member asked (kept in the audit log)"
    )
    requested_via: Literal["phone", "letter", "email", "in_person", "other"] = Field(
        description="How the member made the request"
    )


class BirthdayOut(Out):
    calendar: Literal["solar", "lunar"]
    month: int
    day: int
    year: int | None = None
    leap: bool = False


class ProfileOut(Out):
    member_id: int
    openid: str
    unionid: str | None
    name: str | None
    phone: str | None = Field(description="Whole: this is the member's own copy of their data")
    birthday: BirthdayOut | None
    consent_at: datetime | None
    consent_version: str | None
    language: str
    source: str | None
    status: str
    joined_at: datetime | None
    tier: str | None
    points_balance: int
    points_debt: int
    followed_at: datetime | None
    unfollowed_at: datetime | None
    flagged_for_review: bool
    flag_reason: str | None
    erased_at: datetime | None
    created_at: datetime


class LineOut(Out):
    at: datetime | date | None
    what: str
    points: int | None = None
    amount_fen: int | None = None


class ExportOut(Out):
    profile: ProfileOut
    follows: list[LineOut]
    ledger: list[LineOut]
    purchases: list[LineOut]
    redemptions: list[LineOut]
    bottle_codes: list[LineOut]
    checkins: list[LineOut]


class ErasureOut(Out):
    member_id: int
    erased_at: datetime
    already_erased: bool = Field(description="It had been erased before: nothing changed")


def _birthday(value: SolarBirthday | LunarBirthday | None) -> BirthdayOut | None:
    if isinstance(value, SolarBirthday):
        return BirthdayOut(calendar="solar", month=value.month, day=value.day, year=value.year)
    if isinstance(value, LunarBirthday):
        return BirthdayOut(calendar="lunar", month=value.month, day=value.day, leap=value.leap)
    return None


def _purchase(x: PurchaseLine) -> LineOut:
    what = f"order {x.order_id}" + (f" at {x.store_id}" if x.store_id else "")
    return LineOut(at=x.at, what=what, points=x.points_earned, amount_fen=x.amount_fen)


async def export(call: Call) -> ExportOut:
    call.body_as(DataRequestIn)
    member = await member_or_404(call.path["id"])
    data = await export_member_data(member.id)
    p = data.profile
    source = f"{p.source_kind}_{p.source_ref}" if p.source_kind else None
    profile = ProfileOut(
        member_id=p.member_id, openid=p.openid, unionid=p.unionid, name=p.name, phone=p.phone,
        birthday=_birthday(p.birthday), consent_at=p.consent_at,
        consent_version=p.consent_version, language=p.language, source=source,
        status=str(p.status), joined_at=p.joined_at, tier=p.tier,
        points_balance=p.points_balance, points_debt=p.points_debt, followed_at=p.followed_at,
        unfollowed_at=p.unfollowed_at, flagged_for_review=p.flagged_for_review,
        flag_reason=p.flag_reason, erased_at=p.erased_at, created_at=p.created_at,
    )  # fmt: skip
    call.summary["sections"] = "profile,follows,ledger,purchases,redemptions,codes,checkins"
    return ExportOut(
        profile=profile,
        follows=[LineOut(at=f.at, what=f"{f.kind} {f.scene or ''}".strip()) for f in data.follows],
        ledger=[
            LineOut(at=e.at, what=f"{e.kind} {e.reason}", points=e.points) for e in data.ledger
        ],
        purchases=[_purchase(x) for x in data.purchases],
        redemptions=[
            LineOut(at=r.at, what=f"voucher {r.voucher_code} {r.status}", points=-r.points)
            for r in data.redemptions
        ],
        bottle_codes=[LineOut(at=c.at, what=c.code, points=c.points) for c in data.bottle_codes],
        checkins=[LineOut(at=c.day, what="checkin", points=c.points) for c in data.checkins],
    )


async def erase(call: Call) -> ErasureOut:
    call.body_as(DataRequestIn)
    member = await member_by_id(call.path["id"])
    if member is None:  # an erased member is still found: asking again answers the first erasure
        raise ApiError(404, "not_found", f"no member with id {call.path['id']}")
    result = await erase_member_data(member.id, call.now)
    call.summary["already_erased"] = result.already_erased
    return ErasureOut(
        member_id=result.member_id,
        erased_at=result.erased_at,
        already_erased=result.already_erased,
    )


ENDPOINTS = [
    Endpoint(
        method="POST",
        path="/api/v1/members/{id}/data-export",
        view=export,
        operation_id="exportMemberData",
        summary="Export everything stored about a member, on their request",
        description=(
            "For a request made outside chat (a phone call, a letter): the reason and how it was "
            "made are kept in the audit log. Holds the whole phone number: admins only."
        ),
        permission=Permission.MEMBER_DATA_RIGHTS,
        body=DataRequestIn,
        response=ExportOut,
        errors={404: "No such member"},
        audit="member.data_export",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/members/{id}/data-erasure",
        view=erase,
        operation_id="eraseMemberData",
        summary="Erase a member's personal data, on their request",
        description=(
            "As `删除我的数据` in chat: phone, birthday, name and openid go; the anonymous "
            "bookkeeping stays. The reason and how the request was made are kept in the audit "
            "log. Asking again answers the first erasure."
        ),
        permission=Permission.MEMBER_DATA_RIGHTS,
        body=DataRequestIn,
        response=ErasureOut,
        errors={404: "No such member"},
        audit="member.data_erasure",
    ),
]
