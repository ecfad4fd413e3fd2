"""Member services: finding members, enrolment with consent, phone and birthday, the card.

The chat's enrolment dialog calls one service per step: `record_consent` -> `validate_phone` ->
`parse_birthday` (or skip) -> `validate_name` (or skip) -> `complete_enrolment`. Personal data
(phone, birthday, name) is written only once consent is recorded; `ConsentRequired` otherwise.
Enrolment and its welcome bonus are one transaction, and the bonus's ledger reference
(`welcome:<member>`) is unique, so a retried confirmation neither enrols twice nor pays twice.
Data rights (export, erasure) live in `club.members.data_rights`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from club.db.models.members import Member, MemberStatus
from club.db.openids import get_or_create, with_openid
from club.members.birthday_text import (
    Birthday,
    BirthdayError,
    LunarBirthday,
    SolarBirthday,
    parse_birthday,
)
from club.members.names import InvalidName, validate_name
from club.members.phone import InvalidPhone, mask_phone, validate_phone
from club.points import ledger as points
from club.rules import reasons
from club.rules.expiry import expires_at
from club.rules.kinds import EntryKind
from club.rules.programme import Programme
from club.tiers.service import TierChange, tier_status

log = logging.getLogger(__name__)

__all__ = [
    "BirthdayError",
    "CardView",
    "ConsentRequired",
    "EnrolmentResult",
    "EnrolmentStage",
    "EnrolmentStatus",
    "InvalidName",
    "InvalidPhone",
    "MemberNotFound",
    "card_view",
    "complete_enrolment",
    "enrolment_stage",
    "find_member",
    "get_or_create_member",
    "parse_birthday",
    "record_consent",
    "set_birthday",
    "set_name",
    "set_phone",
    "validate_name",
    "validate_phone",
]


class MemberNotFound(LookupError):
    def __init__(self, member_id: int) -> None:
        super().__init__(f"no member {member_id}")
        self.member_id = member_id


class ConsentRequired(PermissionError):
    """Personal data may be stored only after the member consented."""


async def find_member(openid: str) -> Member | None:
    """The member behind an openid (erased members have no openid left to find)."""
    return await with_openid(openid).get_or_none()


async def get_or_create_member(openid: str, now: datetime, *, unionid: str | None = None) -> Member:
    """The member for this openid, created on first contact (safe under concurrent calls)."""
    member, _ = await get_or_create(openid, unionid=unionid, last_interaction_at=now)
    return member


async def _member(member_id: int) -> Member:
    member = await Member.get_or_none(id=member_id)
    if member is None or member.status is MemberStatus.DELETED:
        raise MemberNotFound(member_id)
    return member


async def record_consent(member_id: int, now: datetime, programme: Programme) -> None:
    """Record that the member accepted the privacy notice of the programme's current version."""
    await _member(member_id)
    version = programme.consent.version
    await Member.filter(id=member_id).update(consent_at=now, consent_version=version)
    log.info("consent recorded member=%d version=%s", member_id, version)


def _birthday_fields(birthday: Birthday | None) -> dict[str, object]:
    """Column values for a birthday; the other calendar's columns are cleared."""
    values: dict[str, object] = {
        "birthday_solar": None,
        "birthday_mmdd": None,
        "birthday_lunar_month": None,
        "birthday_lunar_day": None,
        "birthday_lunar_leap": False,
    }
    if isinstance(birthday, SolarBirthday):
        values["birthday_solar"] = birthday.as_date()
        values["birthday_mmdd"] = birthday.mmdd
    elif isinstance(birthday, LunarBirthday):
        values["birthday_lunar_month"] = birthday.month
        values["birthday_lunar_day"] = birthday.day
        values["birthday_lunar_leap"] = birthday.leap
    return values


def stored_birthday(member: Member) -> Birthday | None:
    """The member's birthday as the typed value it was parsed into."""
    if member.birthday_mmdd is not None:
        month, day = divmod(member.birthday_mmdd, 100)
        year = member.birthday_solar.year if member.birthday_solar else None
        return SolarBirthday(month, day, year)
    if member.birthday_lunar_month is not None and member.birthday_lunar_day is not None:
        return LunarBirthday(
            member.birthday_lunar_month, member.birthday_lunar_day, member.birthday_lunar_leap
        )
    return None


async def _consented(member_id: int) -> Member:
    member = await _member(member_id)
    if member.consent_at is None:
        raise ConsentRequired(f"member {member_id} has not consented")
    return member


async def set_phone(member_id: int, phone_text: str, now: datetime) -> str:
    """Validate and store a phone number; returns it masked (InvalidPhone, ConsentRequired)."""
    phone = validate_phone(phone_text)
    await _consented(member_id)
    await Member.filter(id=member_id).update(phone=phone, updated_at=now)
    return mask_phone(phone)


async def set_birthday(member_id: int, birthday: Birthday | None, now: datetime) -> None:
    """Store (or, with None, clear) the member's birthday (ConsentRequired without consent)."""
    await _consented(member_id)
    await Member.filter(id=member_id).update(updated_at=now, **_birthday_fields(birthday))


async def set_name(member_id: int, name: str | None, now: datetime) -> str | None:
    """Store (or, with None, forget) how the member likes to be addressed; returns it as kept
    (InvalidName, ConsentRequired without consent)."""
    kept = validate_name(name) if name is not None else None
    await _consented(member_id)
    await Member.filter(id=member_id).update(name=kept, updated_at=now)
    return kept


class EnrolmentStage(StrEnum):
    """Where a member stands, so the dialog resumes at the right step."""

    NOT_STARTED = "not_started"
    CONSENTED = "consented"
    JOINED = "joined"


async def enrolment_stage(member_id: int) -> EnrolmentStage:
    member = await _member(member_id)
    if member.joined_at is not None:
        return EnrolmentStage.JOINED
    return EnrolmentStage.CONSENTED if member.consent_at else EnrolmentStage.NOT_STARTED


class EnrolmentStatus(StrEnum):
    JOINED = "joined"
    ALREADY_MEMBER = "already_member"
    """The chat shows the card instead of enrolling again."""


@dataclass(frozen=True)
class CardView:
    member_id: int
    joined: bool
    tier_code: str
    tier_name_zh: str
    tier_name_en: str
    balance: int
    debt: int
    expiring_points: int
    expiring_on: date | None
    qualifying_spend_fen: int
    next_tier_code: str | None
    next_tier_name_zh: str | None
    next_tier_name_en: str | None
    spend_to_next_fen: int | None
    """Fen still to spend (over the review period) to reach the next tier; None at the top."""
    masked_phone: str
    flagged_for_review: bool


@dataclass(frozen=True)
class JoinCredit:
    """What joining credited besides the welcome bonus: purchases recorded at a store's counter
    against this phone before the member joined (`club.sales.counter`)."""

    purchases: int
    points: int
    upgrade: TierChange | None = None
    """The last tier upgrade those purchases caused (the card in the reply shows the tier)."""


NOTHING = JoinCredit(0, 0)

OnJoin = Callable[[int, str, datetime], Awaitable[JoinCredit]]
"""Called with (member id, phone, now) inside the enrolment's transaction, once, when a member
joins: what it credits commits with the enrolment or not at all. The chat passes the counter's
(`club.sales.counter.credit_on_join`); members do not depend on sales."""


@dataclass(frozen=True)
class EnrolmentResult:
    status: EnrolmentStatus
    welcome_points: int
    """Points of the welcome bonus this call paid (0 when already a member)."""
    card: CardView
    counter: JoinCredit = NOTHING
    """Purchases recorded at a counter against this phone before joining, credited now."""


async def complete_enrolment(
    member_id: int,
    phone: str,
    birthday: Birthday | None,
    now: datetime,
    programme: Programme,
    *,
    name: str | None = None,
    on_join: OnJoin | None = None,
) -> EnrolmentResult:
    """Join the club: phone, birthday, how to address the member (`name`, optional), lowest
    tier, joined-at and the welcome bonus, at once, with what `on_join` credits (the counter
    purchases that waited for this phone)."""
    number = validate_phone(phone)
    # A name skipped in the dialog leaves the one stored (if any) alone.
    named = {"name": validate_name(name)} if name is not None else {}
    welcome = programme.earning.welcome_bonus
    counter = NOTHING
    lowest = programme.tiers.lowest.code
    async with in_transaction() as conn:
        member = await Member.select_for_update().using_db(conn).get_or_none(id=member_id)
        if member is None or member.status is MemberStatus.DELETED:
            raise MemberNotFound(member_id)
        if member.joined_at is not None:
            status, paid = EnrolmentStatus.ALREADY_MEMBER, 0
        elif member.consent_at is None:
            raise ConsentRequired(f"member {member_id} has not consented")
        else:
            await (
                Member.filter(id=member_id, joined_at=None)
                .using_db(conn)
                .update(
                    phone=number, joined_at=now, tier=lowest, tier_since=now, updated_at=now,
                    **named, **_birthday_fields(birthday),
                )
            )  # fmt: skip
            if welcome > 0:
                await points.credit(
                    member_id, welcome, kind=EntryKind.BONUS, ref=f"welcome:{member_id}",
                    reason=reasons.write("welcome"), now=now,
                    expires_at=expires_at(now, programme.expiry), connection=conn,
                )  # fmt: skip
            # In the same transaction: joining and crediting what waited for this phone happen
            # together or not at all, and a retried confirmation finds the member joined.
            if on_join is not None:
                counter = await on_join(member_id, number, now)
            status, paid = EnrolmentStatus.JOINED, welcome
    if status is EnrolmentStatus.JOINED:
        log.info("member joined member=%d welcome=%d", member_id, paid)
    card = await card_view(member_id, now, programme)
    return EnrolmentResult(status, paid, card, counter)


async def card_view(member_id: int, now: datetime, programme: Programme) -> CardView:
    """The member card: tier, balance, what expires next, spend to the next tier, masked phone."""
    member = await _member(member_id)
    standing = await tier_status(member_id, now, programme)
    tier, above = standing.tier, standing.next_tier
    balance = await points.balance(member_id, now)
    return CardView(
        member_id=member_id,
        joined=member.joined_at is not None,
        tier_code=tier.code,
        tier_name_zh=tier.name_zh,
        tier_name_en=tier.name_en,
        balance=balance.balance,
        debt=balance.debt,
        expiring_points=balance.next_expiry_points,
        expiring_on=balance.next_expiry_on,
        qualifying_spend_fen=standing.spend_fen,
        next_tier_code=above.code if above else None,
        next_tier_name_zh=above.name_zh if above else None,
        next_tier_name_en=above.name_en if above else None,
        spend_to_next_fen=standing.spend_to_next_fen,
        masked_phone=mask_phone(member.phone),
        flagged_for_review=member.flagged_for_review,
    )
