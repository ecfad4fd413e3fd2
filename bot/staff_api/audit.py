"""The audit log, for admins: by staff member, member, action and time, newest first, paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.schemas import MAX_ID, In, Out
from club.dates import CALENDAR, Moment
from club.staff.accounts import Permission
from club.staff.audit import AuditFilter, read_audit


class AuditQuery(In):
    staff_id: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        default=None, description="0: changes made with `python -m bot staff` on the server"
    )
    staff: Annotated[str, Field(pattern=r"^[\w.@-]{1,64}$")] | None = Field(
        default=None, description="A staff name (as it was when the row was written)"
    )
    member_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    action: Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]*)?$", max_length=64)] | None = Field(
        default=None, description="An action (`voucher.use`) or all of a kind (`voucher.`)"
    )
    since: Moment | None = Field(
        default=None, description=f"ISO 8601 with an offset, {CALENDAR} (UTC)"
    )
    until: Moment | None = Field(default=None, description="Exclusive")
    before_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="Page: entries older than this id (the last page's next)"
    )
    limit: Annotated[int, Field(ge=1, le=500)] = 100

    @model_validator(mode="after")
    def _in_order(self) -> AuditQuery:
        if self.since and self.until and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class AuditEntryOut(Out):
    id: int
    at: datetime
    staff_id: int
    staff_name: str
    staff_role: str
    action: str
    target: str | None
    member_id: int | None
    status: int = Field(description="The HTTP status answered: refusals are recorded too")
    summary: dict[str, object] = Field(description="The request, without secrets or phones")


class AuditPage(Out):
    entries: list[AuditEntryOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next page")


async def read(call: Call) -> AuditPage:
    query = call.query_as(AuditQuery)
    where = AuditFilter(
        staff_id=query.staff_id, staff_name=query.staff, member_id=query.member_id,
        action=query.action, since=query.since, until=query.until,
    )  # fmt: skip
    entries = await read_audit(where, limit=query.limit, before_id=query.before_id)
    full = len(entries) == query.limit
    return AuditPage(
        entries=[AuditEntryOut.model_validate(e) for e in entries],
        next_before_id=entries[-1].id if full else None,
    )


ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/audit",
        view=read,
        operation_id="readAudit",
        summary="Read the audit log",
        description=(
            "Every change and every read of a member's data, newest first, filtered by staff "
            "member, member, action and time; page with `before_id`."
        ),
        permission=Permission.READ_AUDIT,
        query=AuditQuery,
        response=AuditPage,
        audit="audit.read",
    ),
]
