"""Segments and tags: save rule documents and fixed lists, preview them, tag members in bulk."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.segment_schemas import (
    MemberList,
    PreviewOut,
    PreviewQuery,
    RulePreviewIn,
    SegmentIn,
    SegmentList,
    SegmentOut,
    SegmentUploadQuery,
    TagCountOut,
    TaggedOut,
    TagIn,
    TagList,
    TagUploadQuery,
)
from club.segments import service, tags
from club.segments.identify import Identifier, entries, parse_csv, resolve
from club.staff.accounts import Permission


async def _named(members: MemberList, prefix: str) -> list[int]:
    kind, values = members.named()
    identifier = Identifier(kind)
    return await resolve(identifier, entries(identifier, values, prefix=prefix))


async def _uploaded(call: Call) -> list[int]:
    identifier, found = parse_csv(call.text or "")
    call.summary["column"] = identifier.value
    call.summary["lines"] = len(found)
    return await resolve(identifier, found)


def _out(view: service.SegmentView) -> SegmentOut:
    return SegmentOut.model_validate(view)


async def create_segment(call: Call) -> SegmentOut:
    body = call.body_as(SegmentIn)
    staff = call.staff.id
    if body.rule is not None:
        view = await service.create_rule_segment(
            body.name,
            body.rule,
            description=body.description,
            programme=call.deps.programme,
            now=call.now,
            staff_id=staff,
        )
    else:
        assert body.members is not None
        ids = await _named(body.members, "members.")
        view = await service.create_list_segment(
            body.name, ids, description=body.description, now=call.now, staff_id=staff
        )
    call.target = f"segment:{view.id}"
    return _out(view)


async def upload_segment(call: Call) -> SegmentOut:
    query = call.query_as(SegmentUploadQuery)
    ids = await _uploaded(call)
    view = await service.create_list_segment(
        query.name, ids, description=query.description, now=call.now, staff_id=call.staff.id
    )
    call.target = f"segment:{view.id}"
    return _out(view)


async def list_segments(call: Call) -> SegmentList:
    return SegmentList(segments=[_out(v) for v in await service.list_segments()])


async def get_segment(call: Call) -> SegmentOut:
    return _out(await service.get_segment(call.path["id"]))


async def preview_segment(call: Call) -> PreviewOut:
    query = call.query_as(PreviewQuery)
    preview = await service.preview_segment(
        call.path["id"], call.deps.programme, call.now, query.sample
    )
    call.summary["count"] = preview.count
    return PreviewOut.model_validate(preview)


async def preview_rule(call: Call) -> PreviewOut:
    body = call.body_as(RulePreviewIn)
    preview = await service.preview_rule(body.rule, call.deps.programme, call.now, body.sample)
    call.summary["count"] = preview.count
    return PreviewOut.model_validate(preview)


async def _tag(call: Call, tag: str, ids: list[int], add: bool) -> TaggedOut:
    if add:
        done = await tags.add_tag(tag, ids, now=call.now, staff_id=call.staff.id)
    else:
        done = await tags.remove_tag(tag, ids)
    call.target = f"tag:{tag}"
    call.summary["changed"] = done.changed
    return TaggedOut.model_validate(done)


async def add_tag(call: Call) -> TaggedOut:
    body = call.body_as(TagIn)
    return await _tag(call, body.tag, await _named(body, ""), add=True)


async def remove_tag(call: Call) -> TaggedOut:
    body = call.body_as(TagIn)
    return await _tag(call, body.tag, await _named(body, ""), add=False)


async def upload_tag(call: Call) -> TaggedOut:
    query = call.query_as(TagUploadQuery)
    return await _tag(call, query.tag, await _uploaded(call), add=True)


async def list_tags(call: Call) -> TagList:
    return TagList(tags=[TagCountOut.model_validate(t) for t in await tags.tag_counts()])


_CSV = (
    "A CSV file (UTF-8) whose first line names the column: `member_id`, `openid` or `phone` "
    "(other columns are ignored). Every line must name exactly one member, or nothing is written "
    "and the answer names the first bad line."
)

ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/segments",
        view=list_segments,
        operation_id="listSegments",
        summary="List saved segments",
        permission=Permission.MANAGE_SEGMENTS,
        response=SegmentList,
    ),
    Endpoint(
        method="POST",
        path="/api/v1/segments",
        view=create_segment,
        operation_id="createSegment",
        summary="Save a segment",
        permission=Permission.MANAGE_SEGMENTS,
        body=SegmentIn,
        response=SegmentOut,
        status=201,
        description=(
            "A rule document (evaluated whenever the segment is used) or a fixed list of "
            "members. `value_class` and `churn_risk` rules are refused (422) until customer "
            "value management computes them."
        ),
        errors={409: "A segment with this name exists"},
        audit="segment.create",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/segments/upload",
        view=upload_segment,
        operation_id="uploadSegment",
        summary="Save a fixed list uploaded as CSV",
        permission=Permission.MANAGE_SEGMENTS,
        query=SegmentUploadQuery,
        csv_body=True,
        response=SegmentOut,
        status=201,
        description=_CSV,
        errors={409: "A segment with this name exists"},
        audit="segment.upload",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/segments/preview",
        view=preview_rule,
        operation_id="previewRule",
        summary="Count the members a rule document matches and show a sample",
        permission=Permission.MANAGE_SEGMENTS,
        body=RulePreviewIn,
        response=PreviewOut,
        audit="segment.preview",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/segments/{id}",
        view=get_segment,
        operation_id="getSegment",
        summary="Read a segment",
        permission=Permission.MANAGE_SEGMENTS,
        response=SegmentOut,
    ),
    Endpoint(
        method="GET",
        path="/api/v1/segments/{id}/preview",
        view=preview_segment,
        operation_id="previewSegment",
        summary="Count a segment's members now and show a sample (phones masked)",
        permission=Permission.MANAGE_SEGMENTS,
        query=PreviewQuery,
        response=PreviewOut,
        audit="segment.preview",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/tags",
        view=list_tags,
        operation_id="listTags",
        summary="List member tags and how many members carry each",
        permission=Permission.MANAGE_SEGMENTS,
        response=TagList,
    ),
    Endpoint(
        method="POST",
        path="/api/v1/tags/add",
        view=add_tag,
        operation_id="addTag",
        summary="Tag members",
        permission=Permission.MANAGE_SEGMENTS,
        body=TagIn,
        response=TaggedOut,
        description="Every entry must name one member, or nothing is tagged (422 naming it).",
        audit="tag.add",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/tags/remove",
        view=remove_tag,
        operation_id="removeTag",
        summary="Remove a tag from members",
        permission=Permission.MANAGE_SEGMENTS,
        body=TagIn,
        response=TaggedOut,
        audit="tag.remove",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/tags/upload",
        view=upload_tag,
        operation_id="uploadTag",
        summary="Tag the members of an uploaded CSV",
        permission=Permission.MANAGE_SEGMENTS,
        query=TagUploadQuery,
        csv_body=True,
        response=TaggedOut,
        description=_CSV,
        audit="tag.upload",
    ),
]
