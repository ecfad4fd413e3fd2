"""Tags on members, added and removed by staff in bulk, in one transaction.

The members are named first (`club.segments.identify`: every entry must name one member, or
nothing is written); then the tag is added to those who lack it, or removed from those who have
it. A second identical request changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.functions import Count

from club.db import tx
from club.db.models.segments import MemberTag

_CHUNK = 5000


@dataclass(frozen=True)
class Tagged:
    tag: str
    members: int
    """Members named in the request."""
    changed: int
    """Members that got the tag (or lost it) now."""
    unchanged: int
    """Members that had it already (or did not have it)."""


@dataclass(frozen=True)
class TagCount:
    tag: str
    members: int


async def add_tag(
    tag: str, member_ids: Sequence[int], *, now: datetime, staff_id: int | None
) -> Tagged:
    async with tx.transaction() as conn:
        changed = 0
        for start in range(0, len(member_ids), _CHUNK):
            chunk = list(member_ids[start : start + _CHUNK])
            have: list[Any] = (
                await MemberTag.filter(tag=tag, member_id__in=chunk)
                .using_db(conn)
                .values_list("member_id", flat=True)
            )
            had = {int(m) for m in have}
            new = [m for m in chunk if m not in had]
            await MemberTag.bulk_create(
                [MemberTag(member_id=m, tag=tag, created_by=staff_id, created_at=now) for m in new],
                using_db=conn,
            )
            changed += len(new)
    return Tagged(tag, len(member_ids), changed, len(member_ids) - changed)


async def remove_tag(tag: str, member_ids: Sequence[int]) -> Tagged:
    async with tx.transaction() as conn:
        changed = 0
        for start in range(0, len(member_ids), _CHUNK):
            chunk = list(member_ids[start : start + _CHUNK])
            changed += await MemberTag.filter(tag=tag, member_id__in=chunk).using_db(conn).delete()
    return Tagged(tag, len(member_ids), changed, len(member_ids) - changed)


async def tag_counts() -> list[TagCount]:
    found: list[Any] = (
        await MemberTag.all()
        .annotate(n=Count("id"))
        .group_by("tag")
        .order_by("tag")
        .values_list("tag", "n")
    )
    return [TagCount(str(tag), int(n)) for tag, n in found]
