"""Saved member segments, fixed member lists, and the tags staff put on members.

A segment is either a rule document (`club.segments.rules`: tier, spend, tags... nested with
and/or/not), evaluated in SQL whenever it is used, or a fixed list of members uploaded by staff
(`SegmentMember` rows). Tags are the club's own labels on members (not WeChat's user tags, which
a mass send borrows for a moment): unique per member and tag, indexed by tag for the segment
query `tag in (...)`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from club.db.models.members import Member


class SegmentKind(StrEnum):
    RULE = "rule"
    LIST = "list"


class Segment(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    kind = fields.CharEnumField(SegmentKind, max_length=8)
    rule: Any = fields.JSONField(null=True)
    """The rule document (kind `rule`), as validated by `club.segments.rules`."""
    description = fields.CharField(max_length=255, default="")
    list_size = fields.IntField(default=0)
    """Members on a fixed list when it was uploaded (kind `list`)."""
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "segment"


class SegmentMember(Model):
    """One member on a fixed list."""

    id = fields.BigIntField(primary_key=True)
    segment: fields.ForeignKeyRelation[Segment] = fields.ForeignKeyField(
        "models.Segment", related_name="members", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="segment_lists", on_delete=fields.CASCADE
    )
    segment_id: int
    member_id: int

    class Meta:
        table = "segment_member"
        unique_together = (("segment", "member"),)


class MemberTag(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="tags", on_delete=fields.CASCADE
    )
    member_id: int
    tag = fields.CharField(max_length=32)
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "member_tag"
        unique_together = (("member", "tag"),)
        indexes = (("tag", "member_id"),)
