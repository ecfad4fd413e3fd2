"""Member routes: look a member up, read their ledger, adjust their points."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.schemas import LunarBirthday, MemberOut, MemberQuery
from club.members.phone import InvalidPhone, mask_phone, validate_phone
from club.members.records import (
    MemberRecord,
    member_by_id,
    member_by_openid,
    member_number,
    members_by_phone,
    parse_member_number,
)
from club.members.sources import describe_source
from club.points.ledger import balance
from club.rules.earning import purchase_points
from club.staff.accounts import Permission, can
from club.tiers.service import tier_status


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what}")


async def member_or_404(member_id: int) -> MemberRecord:
    member = await member_by_id(member_id)
    if member is None or member.deleted:
        raise not_found(f"member with id {member_id}")
    return member


def require_joined(member: MemberRecord, what: str = "points") -> None:
    """Points and tiers belong to club members: a follower who has not joined (given consent)
    has neither. `what` names what was asked for, in the message."""
    if not member.joined:
        raise ApiError(
            409,
            "not_joined",
            f"member {member.id} has not joined the club: {what} are for members only",
        )


async def member_out(call: Call, member: MemberRecord) -> MemberOut:
    programme = call.deps.programme
    standing = await tier_status(member.id, call.now, programme)
    points = await balance(member.id, call.now)
    to_next = standing.spend_to_next_fen
    rate = standing.tier.earn_multiplier
    whole = can(call.staff.role, Permission.SEE_FULL_PHONE)
    lunar = (
        LunarBirthday(
            month=member.birthday_lunar_month,
            day=member.birthday_lunar_day,
            leap=member.birthday_lunar_leap,
        )
        if member.birthday_lunar_month is not None and member.birthday_lunar_day is not None
        else None
    )
    source = await describe_source(member.source_kind, member.source_ref)
    return MemberOut(
        id=member.id,
        number=member_number(member.id),
        openid=member.openid,
        status=str(member.status),
        name=member.name,
        phone=member.phone if whole or member.phone is None else mask_phone(member.phone),
        phone_masked=not whole and member.phone is not None,
        birthday=member.birthday_solar,
        birthday_lunar=lunar,
        joined_at=member.joined_at,
        source=source.scene if source else None,
        source_name=source.name if source else None,
        tier=standing.tier.code,
        tier_name=standing.tier.name_zh,
        tier_floor=standing.floor,
        balance=points.balance,
        debt=points.debt,
        qualifying_spend_fen=standing.spend_fen,
        next_tier=standing.next_tier.code if standing.next_tier else None,
        spend_to_next_tier_fen=to_next,
        points_to_next_tier=(
            None if to_next is None else purchase_points(to_next, programme.earning, rate)
        ),
        expiring_points=points.next_expiry_points,
        expiring_on=points.next_expiry_on,
        flagged_for_review=member.flagged_for_review,
    )


async def get_member(call: Call) -> MemberOut:
    member = await member_or_404(call.path["id"])
    return await member_out(call, member)


async def _found(query: MemberQuery) -> MemberRecord | None:
    if query.openid is not None:
        return await member_by_openid(query.openid)
    if query.number is not None:
        member_id = parse_member_number(query.number)
        return await member_by_id(member_id) if member_id is not None else None
    try:
        phone = validate_phone(query.phone or "")
    except InvalidPhone as exc:
        raise ApiError(
            422, "invalid", f"phone: not a mainland mobile number ({exc.problem})", fields=["phone"]
        ) from None
    members = await members_by_phone(phone)
    if len(members) > 1:
        numbers = ", ".join(member_number(m.id) for m in members)
        raise ApiError(
            409, "phone_shared", f"several members have this phone ({numbers}): ask by number"
        )
    return members[0] if members else None


async def find_member(call: Call) -> MemberOut:
    query = call.query_as(MemberQuery)
    by = "openid" if query.openid else "number" if query.number else "phone"
    call.summary["by"] = by
    member = await _found(query)
    if member is None or member.deleted:
        raise not_found(f"member with this {by}")
    call.target = f"member:{member.id}"
    return await member_out(call, member)


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/members",
        view=find_member,
        operation_id="findMember",
        summary="Look a member up by openid, phone number or member number",
        description=(
            "Exactly one of `openid`, `phone` (the whole number; answered masked to clerks and "
            "marketers) or `number` (the member number on the card). A phone number two members "
            "gave answers 409 with their member numbers."
        ),
        permission=Permission.READ_MEMBER,
        query=MemberQuery,
        response=MemberOut,
        errors={
            404: "No member with this openid, phone or number",
            409: "Several members have this phone number",
        },
        audit="member.read",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/members/{id}",
        view=get_member,
        operation_id="getMember",
        summary="Read a member: tier, balance, what it takes to reach the next tier",
        permission=Permission.READ_MEMBER,
        response=MemberOut,
        audit="member.read",
    ),
]
