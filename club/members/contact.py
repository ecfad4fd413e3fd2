"""A member's contact with the account: first contact, every message, follows and unfollows.

Pure database service (no transport). The callback calls `record_contact` for every inbound
message; it is the callback's one database read. The write that follows it is skipped when the
stored time is less than `CONTACT_WRITE_INTERVAL` old: a chatty member does not turn every message
into a row update, and the 48-hour window computed from a time at most a minute early closes at
most a minute early (the safe side).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.batching import TurnBatcher
from club.db.models.members import FollowEvent, FollowKind, Member, MemberStatus
from club.db.openids import get_or_create
from club.members.language import Lang, as_lang, first_language
from club.value.exits import record_unfollow_exit

log = logging.getLogger(__name__)

CONTACT_WRITE_INTERVAL = timedelta(seconds=60)
_CONTACT_COLUMNS = (
    '"openid", "id", "name", "language", "language_set_at", "status", "joined_at", '
    '"last_interaction_at", "last_message_at", "open_ticket_id"'
)
_CONTACTS_SQL_PG = 'SELECT {columns} FROM "{table}" WHERE "openid" = ANY($1::text[])'
_CONTACTS_SQL_LITE = 'SELECT {columns} FROM "{table}" WHERE "openid" IN ({placeholders})'
_SCENE = re.compile(r"^(store|staff)_([A-Za-z0-9_-]{1,58})$")
SCENE_MAX = 64
"""A QR code's scene string is 1-64 characters (WeChat's QR_LIMIT_STR_SCENE), as the follow
event keeps it. A longer one was never ours: the follow is kept without it (it failed the whole
follow with the apology)."""


@dataclass(frozen=True)
class Contact:
    """What the conversation needs to know about the member behind a message."""

    member_id: int
    openid: str
    language: Lang
    """The member's language (`club.members.language`): set, or just set by this message, or
    Chinese until a message shows one."""
    status: str
    joined: bool
    is_new: bool
    """The row was created by this message (first contact)."""
    ticket_id: int | None = None
    """The member's open service ticket: their messages go to it (`handlers/service.py`)."""
    name: str | None = None
    """How the member likes to be addressed, if they said (`club.members.names`)."""


@dataclass(frozen=True)
class FollowOutcome:
    member_id: int
    first_follow: bool
    """No follow had been recorded for this member before."""
    source_kind: str | None
    source_ref: str | None
    duplicate: bool
    """The same WeChat event was recorded already (a retry): nothing changed."""


def parse_scene(scene: str | None) -> tuple[str, str] | None:
    """`store_12` -> ("store", "12"); anything else -> None."""
    if not scene:
        return None
    found = _SCENE.match(scene)
    return (found.group(1), found.group(2)) if found else None


def _contact(member: Member, *, is_new: bool) -> Contact:
    return Contact(
        member_id=member.id,
        openid=member.openid,
        language=as_lang(member.language),
        status=str(member.status),
        joined=member.joined_at is not None,
        is_new=is_new,
        ticket_id=member.open_ticket_id,
        name=member.name,
    )


async def _contact_rows(openids: list[str]) -> list[dict[str, Any] | None]:
    """The contact columns of several members in one query, in the order asked (None: no row).
    Plain SQL on the unique index: this runs for every message, and the query builder cost more
    than the query (measured for one member: about 370 against 210 us of CPU on PostgreSQL, 190
    against 40 on SQLite)."""
    conn = connections.get("default")
    table = Member._meta.db_table
    wanted = list(dict.fromkeys(openids))
    if conn.capabilities.dialect == "postgres":
        sql = _CONTACTS_SQL_PG.format(columns=_CONTACT_COLUMNS, table=table)
        rows: list[dict[str, Any]] = await conn.execute_query_dict(sql, [wanted])
    else:
        marks = ", ".join("?" * len(wanted))
        sql = _CONTACTS_SQL_LITE.format(columns=_CONTACT_COLUMNS, table=table, placeholders=marks)
        rows = await conn.execute_query_dict(sql, wanted)
    by_openid = {row["openid"]: row for row in rows}
    return [by_openid.get(openid) for openid in openids]


class ContactReader:
    """Reads the contact rows of the messages being handled at the same moment in one query
    (`club.batching`): under load one round trip serves many callbacks. One per process and
    event loop (the callback's conversation holds it). One query at a time: the rows asked for
    while it runs go in the next, so a busy server sends fewer, larger queries (measured with 32
    messages in flight: 16 rows a query instead of 8, half the queries). Outside a transaction
    only: the batch runs on its own task, on the pool."""

    def __init__(self, max_batch: int = 200) -> None:
        self._batcher: TurnBatcher[str, dict[str, Any] | None] = TurnBatcher(
            _contact_rows, max_batch=max_batch, max_in_flight=1
        )

    async def row(self, openid: str) -> dict[str, Any] | None:
        return await self._batcher.submit(openid)


def _as_datetime(value: object) -> datetime | None:
    """SQLite hands timestamps back as ISO text; PostgreSQL as aware datetimes."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _stale(stored: datetime | None, now: datetime) -> bool:
    return stored is None or now - stored >= CONTACT_WRITE_INTERVAL


async def _get_or_create(
    openid: str, *, now: datetime, member_sent: bool, language: Lang | None = None
) -> tuple[Member, bool]:
    return await get_or_create(
        openid,
        last_interaction_at=now,
        last_message_at=now if member_sent else None,
        language=language or "zh",
        language_set_at=now if language else None,
    )


async def record_contact(
    openid: str,
    *,
    now: datetime,
    member_sent: bool,
    text: str | None = None,
    reader: ContactReader | None = None,
) -> Contact:
    """Create the member at first contact; note the interaction (and message) time; set the
    member's language from `text` (what they wrote) if it is not set yet. `reader` batches the
    read with concurrent callers'."""
    row = await reader.row(openid) if reader is not None else (await _contact_rows([openid]))[0]
    if row is None:
        member, created = await _get_or_create(
            openid, now=now, member_sent=member_sent, language=first_language(text)
        )
        return _contact(member, is_new=created)
    changes: dict[str, object] = {}
    if _stale(_as_datetime(row["last_interaction_at"]), now):
        changes["last_interaction_at"] = now
    if member_sent and _stale(_as_datetime(row["last_message_at"]), now):
        changes["last_message_at"] = now
    language = as_lang(row["language"])
    if row["language_set_at"] is None:
        found = first_language(text)
        if found is not None:
            language = found
            # Only while still unset: a switch written meanwhile by another message wins.
            await Member.filter(id=row["id"], language_set_at=None).update(
                language=found, language_set_at=now
            )
    if changes:
        await Member.filter(id=row["id"]).update(**changes)
    return Contact(
        member_id=int(row["id"]),
        openid=openid,
        language=language,
        status=str(row["status"]),
        joined=row["joined_at"] is not None,
        is_new=False,
        ticket_id=None if row["open_ticket_id"] is None else int(row["open_ticket_id"]),
        name=row["name"],
    )


async def _set_status(member_id: int, status: MemberStatus) -> None:
    """Follow state, except over a block: a blocked member stays blocked whatever they follow
    or unfollow (`club.members.review` lifts a block)."""
    await Member.filter(id=member_id).exclude(status=MemberStatus.BLOCKED).update(status=status)


async def record_follow(
    openid: str, *, now: datetime, scene: str | None, wechat_create_time: int
) -> FollowOutcome:
    """A follow: active again, the follow event kept, the QR source kept from the first follow."""
    if scene is not None and len(scene) > SCENE_MAX:
        scene = None
    member, _ = await _get_or_create(openid, now=now, member_sent=False)
    first_follow = not await FollowEvent.filter(
        member_id=member.id, kind=FollowKind.SUBSCRIBE
    ).exists()
    source = parse_scene(scene) if first_follow and member.source_kind is None else None
    try:
        async with in_transaction():
            await FollowEvent.create(
                member_id=member.id,
                kind=FollowKind.SUBSCRIBE,
                at=now,
                scene=scene,
                tier=member.tier,
                wechat_create_time=wechat_create_time,
            )
            changes: dict[str, object] = {"followed_at": now, "last_interaction_at": now}
            if source is not None:
                changes["source_kind"], changes["source_ref"] = source
                changes["source_at"] = now
            await Member.filter(id=member.id).update(**changes)
            await _set_status(member.id, MemberStatus.ACTIVE)
    except IntegrityError:
        member = await Member.get(id=member.id)
        return FollowOutcome(
            member.id, False, member.source_kind, member.source_ref, duplicate=True
        )
    kind, ref = source if source is not None else (member.source_kind, member.source_ref)
    return FollowOutcome(member.id, first_follow, kind, ref, duplicate=False)


async def record_unfollow(openid: str, *, now: datetime, wechat_create_time: int) -> bool:
    """An unfollow: status and time recorded with the tier of the moment, and the exit with its
    context (one INSERT ... SELECT, before the member row changes). False on a retry."""
    member, _ = await _get_or_create(openid, now=now, member_sent=False)
    try:
        async with in_transaction() as conn:
            await FollowEvent.create(
                using_db=conn,
                member_id=member.id,
                kind=FollowKind.UNSUBSCRIBE,
                at=now,
                tier=member.tier,
                wechat_create_time=wechat_create_time,
            )
            await record_unfollow_exit(conn, member.id, now)
            await Member.filter(id=member.id).update(unfollowed_at=now, last_interaction_at=now)
            await _set_status(member.id, MemberStatus.UNFOLLOWED)
    except IntegrityError:
        return False
    return True


async def set_language(member_id: int, language: Lang, now: datetime) -> None:
    """The member asked to be answered in `language` from now on (`English` / `中文`)."""
    await Member.filter(id=member_id).update(language=language, language_set_at=now)
