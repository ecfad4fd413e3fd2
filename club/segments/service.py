"""Saved segments: create them (a rule document or a fixed list), read them, preview them.

A segment is evaluated when it is used, in one SQL statement (`club.segments.sql`): its size now
and a sample, or (campaigns) the audience frozen into recipient rows. `condition` gives the
statement its WHERE clause over `member m`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from club.db import tx
from club.db.models.segments import Segment, SegmentKind, SegmentMember
from club.db.raw import Params, dialect, rows
from club.members.phone import mask_phone
from club.rules.programme import Programme
from club.segments import rules as r
from club.segments.sql import Compiler, NotYetAvailable, list_condition

SAMPLE_MAX = 50
_INSERT_CHUNK = 5000


class SegmentError(ValueError):
    """The segment cannot be saved or used as asked; `field` names what is wrong."""

    def __init__(self, message: str, field: str = "rule") -> None:
        super().__init__(message)
        self.field = field


class SegmentNameTaken(SegmentError):
    pass


class UnknownSegment(LookupError):
    def __init__(self, segment_id: int) -> None:
        super().__init__(f"no segment with id {segment_id}")


@dataclass(frozen=True)
class SegmentView:
    id: int
    name: str
    kind: str
    rule: dict[str, Any] | None
    description: str
    list_size: int
    created_at: datetime


@dataclass(frozen=True)
class SampleMember:
    id: int
    name: str | None
    phone: str
    """Masked (138****5678), whoever asks."""
    tier: str
    status: str
    language: str


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[SampleMember]


def _view(segment: Segment) -> SegmentView:
    return SegmentView(
        id=segment.id,
        name=segment.name,
        kind=str(segment.kind),
        rule=segment.rule,
        description=segment.description,
        list_size=segment.list_size,
        created_at=segment.created_at,
    )


async def check_rule(rule: r.Rule, programme: Programme, now: datetime) -> None:
    """Refuse what cannot be evaluated: too deep, unknown tiers, lists that are not lists,
    rules that arrive later."""
    try:
        r.check_shape(rule)
    except ValueError as exc:
        raise SegmentError(str(exc)) from None
    await _check_leaves(rule, programme)
    try:
        Compiler(Params(dialect()), now, programme.tiers.lowest.code).condition(rule)
    except NotYetAvailable as exc:
        raise SegmentError(str(exc)) from None


async def _check_leaves(rule: r.Rule, programme: Programme) -> None:
    for kid in r.children(rule):
        await _check_leaves(kid, programme)
    if isinstance(rule, r.TierIs):
        unknown = [t for t in rule.tiers if t not in programme.tiers.codes]
        if unknown:
            known = ", ".join(programme.tiers.codes)
            raise SegmentError(f"unknown tier code {unknown[0]!r} (known: {known})")
    if isinstance(rule, r.InList):
        found = await Segment.get_or_none(id=rule.segment_id)
        if found is None or found.kind is not SegmentKind.LIST:
            raise SegmentError(f"in_list: segment {rule.segment_id} is not a fixed list")


async def create_rule_segment(
    name: str,
    rule: r.Rule,
    *,
    description: str,
    programme: Programme,
    now: datetime,
    staff_id: int | None,
) -> SegmentView:
    await check_rule(rule, programme, now)
    try:
        segment = await Segment.create(
            name=name,
            kind=SegmentKind.RULE,
            rule=r.dump(rule),
            description=description,
            created_by=staff_id,
            created_at=now,
        )
    except IntegrityError:
        raise SegmentNameTaken(f"a segment named {name!r} exists already", "name") from None
    return _view(segment)


async def create_list_segment(
    name: str,
    member_ids: Sequence[int],
    *,
    description: str,
    now: datetime,
    staff_id: int | None,
) -> SegmentView:
    """A fixed list, written in one transaction (all of it or nothing)."""
    try:
        async with tx.transaction() as conn:
            segment = await Segment.create(
                using_db=conn,
                name=name,
                kind=SegmentKind.LIST,
                description=description,
                list_size=len(member_ids),
                created_by=staff_id,
                created_at=now,
            )
            for start in range(0, len(member_ids), _INSERT_CHUNK):
                await SegmentMember.bulk_create(
                    [
                        SegmentMember(segment_id=segment.id, member_id=member_id)
                        for member_id in member_ids[start : start + _INSERT_CHUNK]
                    ],
                    using_db=conn,
                )
    except IntegrityError:
        raise SegmentNameTaken(f"a segment named {name!r} exists already", "name") from None
    return _view(segment)


async def list_segments() -> list[SegmentView]:
    return [_view(s) for s in await Segment.all().order_by("id")]


async def get_segment(segment_id: int) -> SegmentView:
    segment = await Segment.get_or_none(id=segment_id)
    if segment is None:
        raise UnknownSegment(segment_id)
    return _view(segment)


def condition(segment: SegmentView, params: Params, programme: Programme, now: datetime) -> str:
    """The segment's WHERE clause over `member m`, its values added to `params`."""
    if segment.kind == SegmentKind.LIST:
        return list_condition(params, segment.id)
    try:
        rule = r.parse(segment.rule)
        return Compiler(params, now, programme.tiers.lowest.code).condition(rule)
    except NotYetAvailable as exc:
        raise SegmentError(str(exc)) from None


async def preview_condition(where: str, params: Params, sample: int = 20) -> Preview:
    """The count and a sample (the newest members) of members matching `where`."""
    count_rows = await rows(f"SELECT COUNT(*) AS n FROM member m WHERE {where}", params.values)  # noqa: S608 (built from constants, values bound)
    sample_rows = await rows(
        "SELECT m.id, m.name, m.phone, m.tier, m.status, m.language FROM member m "  # noqa: S608
        f"WHERE {where} ORDER BY m.id DESC LIMIT {min(max(sample, 0), SAMPLE_MAX)}",
        params.values,
    )
    return Preview(
        count=int(count_rows[0]["n"]),
        sample=[
            SampleMember(
                id=int(row["id"]),
                name=row["name"],
                phone=mask_phone(row["phone"]),
                tier=row["tier"] or "",
                status=str(row["status"]),
                language=str(row["language"]),
            )
            for row in sample_rows
        ],
    )


async def preview_segment(
    segment_id: int, programme: Programme, now: datetime, sample: int = 20
) -> Preview:
    segment = await get_segment(segment_id)
    params = Params(dialect())
    return await preview_condition(condition(segment, params, programme, now), params, sample)


async def preview_rule(
    rule: r.Rule, programme: Programme, now: datetime, sample: int = 20
) -> Preview:
    await check_rule(rule, programme, now)
    params = Params(dialect())
    where = Compiler(params, now, programme.tiers.lowest.code).condition(rule)
    return await preview_condition(where, params, sample)
