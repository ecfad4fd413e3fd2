"""Request and response bodies of segments and tags (the rule document is the domain's own
pydantic model, `club.segments.rules`, so the OpenAPI document describes exactly what is stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictInt, model_validator

from bot.staff_api.schemas import MULTI_LINE, ONE_LINE, In, MemberId, OpenId, Out
from club.segments.rules import Rule, TagName

MAX_LISTED = 1000
"""Members named in a JSON body; longer lists go as a CSV upload."""

SegmentName = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
Description = Annotated[str, Field(max_length=255), MULTI_LINE]
Phone = Annotated[str, Field(min_length=1, max_length=32), ONE_LINE]


class MemberList(In):
    """Members named one way: by member id, openid or mobile number (exactly one of them)."""

    member_ids: Annotated[list[MemberId], Field(min_length=1, max_length=MAX_LISTED)] | None = None
    openids: Annotated[list[OpenId], Field(min_length=1, max_length=MAX_LISTED)] | None = None
    phones: Annotated[list[Phone], Field(min_length=1, max_length=MAX_LISTED)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> MemberList:
        given = [v for v in (self.member_ids, self.openids, self.phones) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of member_ids, openids or phones")
        return self

    def named(self) -> tuple[str, list[Any]]:
        if self.member_ids is not None:
            return "member_id", list(self.member_ids)
        if self.openids is not None:
            return "openid", list(self.openids)
        return "phone", list(self.phones or [])


class SegmentIn(In):
    name: SegmentName
    description: Description = ""
    rule: Rule | None = Field(
        default=None, description="A rule document (rules nested with and, or, not)"
    )
    members: MemberList | None = Field(
        default=None,
        description="A fixed list instead of a rule (up to 1,000; upload a CSV for more)",
    )

    @model_validator(mode="after")
    def _rule_or_list(self) -> SegmentIn:
        if (self.rule is None) == (self.members is None):
            raise ValueError("give exactly one of rule or members")
        return self


class SegmentUploadQuery(In):
    name: SegmentName
    description: Description = ""


class RulePreviewIn(In):
    rule: Rule
    sample: Annotated[StrictInt, Field(ge=0, le=50)] = 20


class PreviewQuery(In):
    sample: int = Field(default=20, ge=0, le=50, description="How many members to show")


class SegmentOut(Out):
    id: int
    name: str
    kind: str = Field(description="rule or list")
    rule: dict[str, Any] | None = Field(description="The rule document (kind rule)")
    description: str
    list_size: int = Field(description="Members on the fixed list when uploaded (kind list)")
    created_at: datetime


class SegmentList(Out):
    segments: list[SegmentOut]


class SampleMemberOut(Out):
    id: int
    name: str | None
    phone: str = Field(description="Masked (138****5678)")
    tier: str
    status: str
    language: str


class PreviewOut(Out):
    count: int = Field(description="Members in the segment now")
    sample: list[SampleMemberOut]


class TagIn(MemberList):
    tag: TagName


class TagUploadQuery(In):
    tag: TagName


class TaggedOut(Out):
    tag: str
    members: int = Field(description="Members named")
    changed: int = Field(description="Members tagged (or untagged) by this request")
    unchanged: int = Field(description="Members that had (or lacked) the tag already")


class TagCountOut(Out):
    tag: str
    members: int


class TagList(Out):
    tags: list[TagCountOut]
