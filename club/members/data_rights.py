"""Member data rights (PIPL): see everything stored about you; have your personal data erased.

Erasure removes what identifies the person (openid, unionid, name, phone, birthday) and keeps what
the club's books need: the member row with its totals, the ledger, purchases and redemptions, now
anonymous. The openid is replaced, so the same WeChat user following again starts a new, empty
member. The consent time and version stay, next to `erased_at`, as the record of what happened.
Outbound messages addressed to them lose their openid and text; queued ones are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from club.codes.codegen import format_code
from club.db.models.catalog import BottleCode, Redemption, RedemptionStatus
from club.db.models.ledger import CheckIn, LedgerEntry, Purchase
from club.db.models.members import FollowEvent, FollowKind, Member, MemberStatus
from club.db.models.outbox import OutboxMessage, OutboxStatus
from club.members.birthday_text import Birthday
from club.members.enrolment import MemberNotFound, stored_birthday
from club.rules.kinds import EntryKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Profile:
    member_id: int
    openid: str
    unionid: str | None
    name: str | None
    phone: str | None
    """Whole: this is the member's own copy of their data."""
    birthday: Birthday | None
    consent_at: datetime | None
    consent_version: str | None
    language: str
    source_kind: str | None
    source_ref: str | None
    status: MemberStatus
    joined_at: datetime | None
    tier: str | None
    tier_since: datetime | None
    tier_floor: str | None
    points_balance: int
    points_debt: int
    followed_at: datetime | None
    unfollowed_at: datetime | None
    last_message_at: datetime | None
    last_interaction_at: datetime | None
    flagged_for_review: bool
    flag_reason: str | None
    erased_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class FollowLine:
    kind: FollowKind
    at: datetime
    scene: str | None


@dataclass(frozen=True)
class LedgerLine:
    at: datetime
    kind: EntryKind
    points: int
    balance_after: int
    reason: str


@dataclass(frozen=True)
class PurchaseLine:
    order_id: str
    at: datetime
    amount_fen: int
    returned_fen: int
    points_earned: int
    store_id: str | None


@dataclass(frozen=True)
class RedemptionLine:
    at: datetime
    reward_id: int
    points: int
    voucher_code: str
    status: RedemptionStatus


@dataclass(frozen=True)
class CodeLine:
    code: str
    at: datetime | None
    points: int


@dataclass(frozen=True)
class CheckInLine:
    day: date
    points: int


@dataclass(frozen=True)
class MemberDataExport:
    profile: Profile
    follows: tuple[FollowLine, ...]
    ledger: tuple[LedgerLine, ...]
    purchases: tuple[PurchaseLine, ...]
    redemptions: tuple[RedemptionLine, ...]
    bottle_codes: tuple[CodeLine, ...]
    checkins: tuple[CheckInLine, ...]


def _profile(m: Member) -> Profile:
    return Profile(
        m.id, m.openid, m.unionid, m.name, m.phone, stored_birthday(m), m.consent_at,
        m.consent_version, m.language, m.source_kind, m.source_ref, m.status, m.joined_at, m.tier,
        m.tier_since, m.tier_floor, m.points_balance, m.points_debt, m.followed_at,
        m.unfollowed_at, m.last_message_at, m.last_interaction_at, m.flagged_for_review,
        m.flag_reason, m.erased_at, m.created_at,
    )  # fmt: skip


def _purchase_line(p: Purchase) -> PurchaseLine:
    store_id: str | None = p.store_id  # type: ignore[attr-defined]
    return PurchaseLine(
        p.order_id, p.created_at, p.amount_fen, p.returned_fen, p.points_earned, store_id
    )


async def export_member_data(member_id: int) -> MemberDataExport:
    """Everything stored about one member, oldest first in each section."""
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise MemberNotFound(member_id)
    follows = await FollowEvent.filter(member_id=member_id).order_by("at", "id")
    entries = await LedgerEntry.filter(member_id=member_id).order_by("created_at", "id")
    purchases = await Purchase.filter(member_id=member_id).order_by("created_at", "id")
    redemptions = await Redemption.filter(member_id=member_id).order_by("created_at", "id")
    codes = await BottleCode.filter(used_by_id=member_id).order_by("used_at", "id")
    checkins = await CheckIn.filter(member_id=member_id).order_by("day")
    return MemberDataExport(
        profile=_profile(member),
        follows=tuple(FollowLine(f.kind, f.at, f.scene) for f in follows),
        ledger=tuple(
            LedgerLine(e.created_at, EntryKind(e.kind), e.points, e.balance_after, e.reason)
            for e in entries
        ),
        purchases=tuple(_purchase_line(p) for p in purchases),
        redemptions=tuple(
            RedemptionLine(
                r.created_at, r.reward_id, r.points, format_code(r.voucher_code), r.status
            )
            for r in redemptions
        ),
        bottle_codes=tuple(CodeLine(format_code(c.code), c.used_at, c.points) for c in codes),
        checkins=tuple(CheckInLine(c.day, c.points + c.bonus) for c in checkins),
    )


@dataclass(frozen=True)
class ErasureResult:
    member_id: int
    erased_at: datetime
    already_erased: bool


def erased_openid(member_id: int) -> str:
    """What replaces the openid: unique, and not a WeChat openid anyone can send from."""
    return f"erased:{member_id}"


async def erase_member_data(member_id: int, now: datetime) -> ErasureResult:
    """Erase the member's personal data; repeating it reports the first erasure."""
    async with in_transaction() as conn:
        member = await Member.select_for_update().using_db(conn).get_or_none(id=member_id)
        if member is None:
            raise MemberNotFound(member_id)
        if member.erased_at is not None:
            return ErasureResult(member_id, member.erased_at, already_erased=True)
        await (
            Member.filter(id=member_id)
            .using_db(conn)
            .update(
                openid=erased_openid(member_id), unionid=None, name=None, phone=None,
                birthday_solar=None, birthday_mmdd=None, birthday_lunar_month=None,
                birthday_lunar_day=None, birthday_lunar_leap=False, status=MemberStatus.DELETED,
                erased_at=now, updated_at=now,
            )
        )  # fmt: skip
        # Replies sent before the member row existed carry only the openid.
        theirs = Q(member_id=member_id) | Q(openid=member.openid)
        await (
            OutboxMessage.filter(theirs, status=OutboxStatus.QUEUED)
            .using_db(conn)
            .update(status=OutboxStatus.SKIPPED, last_error="member data erased")
        )
        await (
            OutboxMessage.filter(theirs)
            .using_db(conn)
            .exclude(status=OutboxStatus.SENDING)
            .update(openid=erased_openid(member_id), payload={"erased": True})
        )
    log.info("member data erased member=%d", member_id)
    return ErasureResult(member_id, now, already_erased=False)
