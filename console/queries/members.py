"""Finding members, and the purchases and messages a member page lists.

Search takes what staff at a till have: a name (or part of it), the last four digits of a
phone, a whole phone number, an openid, or the member number. Each kind of search is one
indexed lookup on PostgreSQL (the name and last-four searches use the indexes of migration 0007).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise import Tortoise

from club.db.models.ledger import Purchase
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.db.openids import with_openid

SEARCH_LIMIT = 50
MAX_ID = 2**63 - 1
_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


class SearchKind(StrEnum):
    NUMBER_OR_LAST4 = "number_or_last4"
    NUMBER = "number"
    PHONE = "phone"
    OPENID = "openid"
    NAME = "name"


@dataclass(frozen=True)
class MemberRow:
    id: int
    name: str | None
    phone: str | None
    """Whole: the page masks it for roles that may not see it."""
    status: MemberStatus
    tier: str | None
    points_balance: int
    joined_at: datetime | None


@dataclass(frozen=True)
class PurchaseRow:
    order_id: str
    store_id: str | None
    amount_fen: int
    returned_fen: int
    points_earned: int
    points_reversed: int
    tier_before: str
    tier_after: str
    created_at: datetime


@dataclass(frozen=True)
class MessageRow:
    kind: str
    channel: str
    status: str
    dry_run: bool
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def search_kind(query: str) -> SearchKind:
    if query.isascii() and query.isdigit():
        if len(query) == 4:
            return SearchKind.NUMBER_OR_LAST4
        if len(query) == 11:
            return SearchKind.PHONE
        return SearchKind.NUMBER
    if _OPENID.match(query) and not query.isalpha():
        return SearchKind.OPENID
    return SearchKind.NAME


def _row(m: Member) -> MemberRow:
    return MemberRow(
        id=m.id,
        name=m.name,
        phone=m.phone,
        status=MemberStatus(m.status),
        tier=m.tier,
        points_balance=m.points_balance,
        joined_at=m.joined_at,
    )


async def _last4_ids(digits: str) -> list[int]:
    """Members whose phone ends in these four digits, through the expression index."""
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        sql = "SELECT id FROM member WHERE right(phone, 4) = $1 ORDER BY id DESC LIMIT $2"
    else:
        sql = "SELECT id FROM member WHERE substr(phone, -4) = ? ORDER BY id DESC LIMIT ?"
    rows = await conn.execute_query_dict(sql, [digits, SEARCH_LIMIT])
    return [int(r["id"]) for r in rows]


async def search_members(query: str) -> tuple[SearchKind, list[MemberRow]]:
    """Members matching `query` (deleted ones left out), newest first, at most SEARCH_LIMIT."""
    query = query.strip()
    kind = search_kind(query)
    base = Member.exclude(status=MemberStatus.DELETED)
    if kind is SearchKind.NUMBER_OR_LAST4:
        ids = [int(query), *await _last4_ids(query)]
        found = base.filter(id__in=ids)
    elif kind is SearchKind.NUMBER:
        number = int(query)
        found = base.filter(id=number) if 1 <= number <= MAX_ID else base.filter(id=0)
    elif kind is SearchKind.PHONE:
        found = base.filter(phone=query)
    elif kind is SearchKind.OPENID:
        found = with_openid(query).exclude(status=MemberStatus.DELETED)
    else:
        found = (
            base.filter(name__istartswith=query)
            if len(query) < 2
            else base.filter(name__icontains=query)
        )
    members = await found.order_by("-id").limit(SEARCH_LIMIT)
    return kind, [_row(m) for m in members]


async def member_purchases(member_id: int, limit: int = 20) -> list[PurchaseRow]:
    rows = await Purchase.filter(member_id=member_id).order_by("-created_at", "-id").limit(limit)
    return [
        PurchaseRow(
            order_id=p.order_id,
            store_id=p.store_id,
            amount_fen=p.amount_fen,
            returned_fen=p.returned_fen,
            points_earned=p.points_earned,
            points_reversed=p.points_reversed,
            tier_before=p.tier_before,
            tier_after=p.tier_after,
            created_at=p.created_at,
        )
        for p in rows
    ]


async def member_messages(member_id: int, limit: int = 20) -> list[MessageRow]:
    rows = await OutboxMessage.filter(member_id=member_id).order_by("-id").limit(limit)
    return [
        MessageRow(
            kind=m.kind,
            channel=str(m.channel),
            status=str(m.status),
            dry_run=m.dry_run,
            attempts=m.attempts,
            last_error=m.last_error,
            created_at=m.created_at,
            sent_at=m.sent_at,
        )
        for m in rows
    ]
