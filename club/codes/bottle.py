"""Bottle codes (一物一码): staff generate batches, members send a code once for points.

A code earns once, ever, for one member: the claim is one conditional update
(`used_by IS NULL`) and the credit's reference (`bottle:<code>`) is unique in the ledger, both in
the same transaction. The member row is locked first, so the hourly and daily limits hold even when
one member sends several codes at once. Going over a limit refuses the code and flags the member
for review (code farming shows up as one account redeeming many codes quickly).

Codes that earn nothing (never issued, mistyped, someone else's) are failed attempts, one row each
in the database, written under the same member lock: whatever worker or process answers, and
after any restart, they count. Past the hourly or daily limit of failed attempts every code is
refused, even a valid one, until the hour or the club day has passed, and the member is flagged:
otherwise a member could guess codes forever. A refused code is not counted again, so the pause
ends on time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.codes.codegen import CodeShape, classify, format_code, random_code
from club.db.models.catalog import BottleCode, CodeBatch, FailedCodeAttempt
from club.db.models.members import Member, MemberStatus
from club.db.raw import Params, dialect, rows
from club.points import ledger as points
from club.points.caps import capped_credit
from club.rules import reasons
from club.rules.caps import Cap
from club.rules.expiry import expires_at
from club.rules.kinds import EntryKind
from club.rules.programme import Programme
from club.rules.standing import is_blocked

log = logging.getLogger(__name__)

MAX_BATCH = 100_000
_INSERT_CHUNK = 1_000


class CodeBatchError(ValueError):
    """A batch request that cannot be honoured (bad numbers, or a name used with other values)."""


@dataclass(frozen=True)
class GeneratedBatch:
    batch_id: int
    name: str
    points: int
    codes: tuple[str, ...]
    """Printed form (`ABCD-EFGH-JKMN`), in creation order."""
    created: bool
    """False when the name already existed with the same values: the first batch is returned."""


async def generate_batch(count: int, points: int, batch_name: str, now: datetime) -> GeneratedBatch:
    """Create `count` new codes worth `points` each under a unique batch name.

    Repeating the request (same name, count and points) returns the first batch's codes, so a
    retried staff call prints nothing twice.
    """
    name = batch_name.strip()
    if not name or len(name) > 64:
        raise CodeBatchError("batch name must be 1-64 characters")
    if not 1 <= count <= MAX_BATCH:
        raise CodeBatchError(f"count must be between 1 and {MAX_BATCH}")
    if not 1 <= points <= 1_000_000:
        raise CodeBatchError("points must be between 1 and 1000000")
    existing = await CodeBatch.get_or_none(name=name)
    if existing is not None:
        return await _existing_batch(existing, count, points)
    try:
        async with in_transaction() as conn:
            batch = await CodeBatch.create(
                name=name, points=points, count=count, created_at=now, using_db=conn
            )
            codes = await _new_unique_codes(count)
            for start in range(0, count, _INSERT_CHUNK):
                rows = [
                    BottleCode(code=code, batch_id=batch.id, points=points)
                    for code in codes[start : start + _INSERT_CHUNK]
                ]
                await BottleCode.bulk_create(rows, using_db=conn)
    except IntegrityError:
        # The same name created concurrently (or, with odds of about 1e-9, a code collision
        # with a batch being written right now): the first batch stands.
        existing = await CodeBatch.get_or_none(name=name)
        if existing is None:
            raise
        return await _existing_batch(existing, count, points)
    log.info("bottle code batch created batch=%s count=%d points=%d", name, count, points)
    return GeneratedBatch(batch.id, name, points, tuple(format_code(c) for c in codes), True)


async def _new_unique_codes(count: int) -> list[str]:
    """Fresh codes that collide neither with each other nor with stored ones."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        fresh = list({random_code() for _ in range(wanted)} - codes)
        taken: set[str] = set()
        for start in range(0, len(fresh), _INSERT_CHUNK):
            chunk = fresh[start : start + _INSERT_CHUNK]
            taken |= {row.code for row in await BottleCode.filter(code__in=chunk).only("code")}
        codes |= set(fresh) - taken
    return sorted(codes)


async def _existing_batch(batch: CodeBatch, count: int, points: int) -> GeneratedBatch:
    if batch.count != count or batch.points != points:
        raise CodeBatchError(f"batch {batch.name!r} already exists with other values")
    stored = (
        await BottleCode.filter(batch_id=batch.id).order_by("code").values_list("code", flat=True)
    )
    codes = tuple(format_code(str(c)) for c in stored)
    return GeneratedBatch(batch.id, batch.name, batch.points, codes, False)


class CodeStatus(StrEnum):
    EARNED = "earned"
    USED_BY_YOU = "used_by_you"
    USED_BY_OTHER = "used_by_other"
    MISTYPED = "mistyped"
    """Looks like a code but the check character fails: a typo, not a used code."""
    UNKNOWN = "unknown"
    """A well-formed code that was never issued."""
    LIMIT_REACHED = "limit_reached"
    TOO_MANY_FAILED = "too_many_failed"
    """Too many failed attempts lately: every code, valid or not, waits until `retry_at`."""
    NOT_A_CODE = "not_a_code"
    NOT_A_MEMBER = "not_a_member"
    """Only enrolled members collect points; the chat offers enrolment."""
    BLOCKED = "blocked"
    """The club blocked the member after a review: codes earn nothing (the code stays unused)."""
    CAPPED = "capped"
    """The code is worth more than the day's or month's earning cap leaves: it stays unused, to
    be sent again once the day (`per_day`) or month turns (`limit`: the cap)."""


@dataclass(frozen=True)
class CodeOutcome:
    status: CodeStatus
    code: str
    """Normalised code as understood (empty for text that is not a code)."""
    points: int = 0
    """Points this code earned (for EARNED and USED_BY_YOU)."""
    balance: int | None = None
    """Balance after earning (EARNED only)."""
    limit: int | None = None
    """The limit that was reached (LIMIT_REACHED and TOO_MANY_FAILED)."""
    retry_at: datetime | None = None
    """When codes are taken again (TOO_MANY_FAILED only), in the club's time zone."""
    per_day: bool = False
    """The daily limit was reached, rather than the hourly one (TOO_MANY_FAILED), or the daily
    earning cap rather than the monthly one (CAPPED)."""


async def redeem_code(
    member_id: int, raw_text: str, now: datetime, programme: Programme
) -> CodeOutcome:
    """What happened to a code a member sent as text or by scanning the cap."""
    shape, code = classify(raw_text)
    if shape is CodeShape.NOT_A_CODE:
        return CodeOutcome(CodeStatus.NOT_A_CODE, "")
    async with in_transaction() as conn:
        member = await Member.select_for_update().using_db(conn).get_or_none(id=member_id)
        if member is None or member.joined_at is None or member.status is MemberStatus.DELETED:
            return CodeOutcome(CodeStatus.NOT_A_MEMBER, code)
        if is_blocked(member.status):
            return CodeOutcome(CodeStatus.BLOCKED, code)
        paused = await _too_many_failed(member, code, now, programme, conn)
        if paused is not None:
            return paused
        if shape is CodeShape.MISTYPED:
            return await _failed(CodeOutcome(CodeStatus.MISTYPED, code), member_id, now, conn)
        row = await BottleCode.filter(code=code).using_db(conn).first()
        if row is None:
            log.info("unknown bottle code member=%d", member_id)
            return await _failed(CodeOutcome(CodeStatus.UNKNOWN, code), member_id, now, conn)
        if row.used_by_id is not None:
            return await _used(row, member_id, code, now, conn)
        refused = await _over_limit(member, code, now, programme, conn)
        if refused is not None:
            return refused
        capped = await capped_credit(member_id, row.points, programme.earning_caps, now, conn)
        if capped.cap is not None:
            return CodeOutcome(
                CodeStatus.CAPPED, code, limit=capped.limit, per_day=capped.cap is Cap.DAY
            )
        claimed = await (
            BottleCode.filter(id=row.id, used_by_id=None)
            .using_db(conn)
            .update(used_by_id=member_id, used_at=now)
        )
        if claimed == 0:
            # Another member's transaction took it between our read and our update.
            fresh = await BottleCode.filter(id=row.id).using_db(conn).get()
            return await _used(fresh, member_id, code, now, conn)
        movement = await points.credit(
            member_id,
            row.points,
            kind=EntryKind.BONUS,
            ref=f"bottle:{code}",
            reason=reasons.write("bottle_code", code=format_code(code)),
            now=now,
            expires_at=expires_at(now, programme.expiry),
            connection=conn,
            claimed=True,  # the code's conditional update above made this credit once-only
        )
    return CodeOutcome(CodeStatus.EARNED, code, row.points, movement.balance_after)


async def _used(
    row: BottleCode, member_id: int, code: str, now: datetime, conn: BaseDBAsyncClient
) -> CodeOutcome:
    if row.used_by_id == member_id:
        return CodeOutcome(CodeStatus.USED_BY_YOU, code, row.points)
    return await _failed(CodeOutcome(CodeStatus.USED_BY_OTHER, code), member_id, now, conn)


# Failed attempts older than this count for no window (an hour, or the club day so far).
_FAILED_KEPT = timedelta(days=2)
PRUNE_BATCH = 1_000


async def _failed(
    outcome: CodeOutcome, member_id: int, now: datetime, conn: BaseDBAsyncClient
) -> CodeOutcome:
    """Count a code that earned nothing, and drop this member's attempts too old to count.

    Pruning one member's rows under that member's lock keeps writers of different members apart.
    """
    await FailedCodeAttempt.create(
        member_id=member_id, at=now, outcome=outcome.status.value, using_db=conn
    )
    await (
        FailedCodeAttempt.filter(member_id=member_id, at__lt=now - _FAILED_KEPT)
        .using_db(conn)
        .delete()
    )
    return outcome


async def prune_failed_attempts(now: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete every member's failed attempts too old to count, a batch a transaction; how many.

    `_failed` prunes a member's rows only when that member fails again: this catches the members
    who never do (the daily expire-points job runs it). Rows a member's transaction holds (it is
    pruning them itself) are skipped, not waited for, so the two never deadlock. Run again, it
    finds nothing.
    """
    cutoff = now - _FAILED_KEPT
    deleted = 0
    while True:
        async with in_transaction() as conn:
            rows = await (
                FailedCodeAttempt.filter(at__lt=cutoff)
                .order_by("id")
                .limit(batch)
                .only("id")
                .select_for_update(skip_locked=True)
                .using_db(conn)
            )
            ids = [row.id for row in rows]
            if ids:
                deleted += await FailedCodeAttempt.filter(id__in=ids).using_db(conn).delete()
        if len(ids) < batch:
            if deleted:
                log.info("failed bottle-code attempts deleted: %d", deleted)
            return deleted


async def _too_many_failed(
    member: Member, code: str, now: datetime, programme: Programme, conn: BaseDBAsyncClient
) -> CodeOutcome | None:
    """Refuse and flag while the member's failed attempts are at the hourly or daily limit.

    The hour is the last 60 minutes (the pause ends an hour after the oldest failure that
    counts), the day the club's calendar day (the pause ends at midnight), as for codes used.
    """
    limits = programme.bottle_codes
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    hour_ago = now - timedelta(hours=1)
    rows = await (
        FailedCodeAttempt.filter(member_id=member.id, at__gte=min(day_start, hour_ago))
        .using_db(conn)
        .values_list("at", flat=True)
    )
    times = cast("list[datetime]", rows)
    today = sum(1 for at in times if at >= day_start)
    last_hour = sorted(at for at in times if at > hour_ago)
    if today >= limits.failed_per_day:
        limit = limits.failed_per_day
        tomorrow = datetime.combine(day_start.date() + timedelta(days=1), time(), now.tzinfo)
        retry_at, per_day, window = tomorrow, True, "a day"
    elif len(last_hour) >= limits.failed_per_hour:
        limit = limits.failed_per_hour
        oldest_counted = last_hour[len(last_hour) - limit]
        retry_at, per_day, window = (oldest_counted + timedelta(hours=1)), False, "an hour"
    else:
        return None
    await _flag(member, f"bottle codes: {limit} failed attempts in {window}", now, conn)
    return CodeOutcome(
        CodeStatus.TOO_MANY_FAILED,
        code,
        limit=limit,
        retry_at=retry_at.astimezone(now.tzinfo),
        per_day=per_day,
    )


async def _over_limit(
    member: Member, code: str, now: datetime, programme: Programme, conn: BaseDBAsyncClient
) -> CodeOutcome | None:
    """Refuse and flag when this code would exceed the hourly or the daily limit.

    The day is the club's calendar day (`now` is in the club's time zone), which is what a
    member reads as "today".
    """
    limits = programme.bottle_codes
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    in_hour, in_day = await _codes_used(member.id, now - timedelta(hours=1), day_start, conn)
    if in_hour >= limits.per_hour:
        reason = f"bottle codes: more than {limits.per_hour} in an hour"
        await _flag(member, reason, now, conn)
        return CodeOutcome(CodeStatus.LIMIT_REACHED, code, limit=limits.per_hour)
    if in_day >= limits.per_day:
        reason = f"bottle codes: more than {limits.per_day} in a day"
        await _flag(member, reason, now, conn)
        return CodeOutcome(CodeStatus.LIMIT_REACHED, code, limit=limits.per_day)
    return None


async def _codes_used(
    member_id: int, hour_ago: datetime, day_start: datetime, conn: BaseDBAsyncClient
) -> tuple[int, int]:
    """The codes the member used in the last hour (after `hour_ago`) and today (from
    `day_start`), counted by one query: a scan is a dozen round trips in the member's lock, and
    this was two of them."""
    p = Params(dialect(conn))
    hour, day = p.add(hour_ago), p.add(day_start)
    since = p.add(min(hour_ago, day_start))
    sql = (
        f"SELECT COUNT(CASE WHEN used_at > {hour} THEN 1 END) AS hour,"  # noqa: S608 (bound)
        f" COUNT(CASE WHEN used_at >= {day} THEN 1 END) AS day FROM bottle_code"
        f" WHERE used_by_id = {p.add(member_id)} AND used_at >= {since}"
    )
    [found] = await rows(sql, p.values, conn)
    return int(found["hour"] or 0), int(found["day"] or 0)


async def _flag(member: Member, reason: str, now: datetime, conn: BaseDBAsyncClient) -> None:
    await (
        Member.filter(id=member.id)
        .using_db(conn)
        .update(flagged_for_review=True, flag_reason=reason, flagged_at=now, updated_at=now)
    )
    log.warning("member flagged for review member=%d reason=%s", member.id, reason)
