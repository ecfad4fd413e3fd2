"""The customer-service window as the outbox records it: what `club.messaging.plan` needs per
member.

WeChat counts the customer-service messages a member's window allows (`club.messaging.plan`); we
count them from our own outbox, without touching the callback's path: the member's openings are the
`last_message_at` / `last_interaction_at` columns the callback already writes, and the messages
sent since are outbox rows on the custom channel that were

- sent (at `sent_at`; dry-run rows too, they stand for a send),
- being sent now (`sending`: counted, as they are about to reach WeChat), or
- settled with the outcome unknown (the sender died mid-send: WeChat may well have it).

Replies to the member's messages (kind `reply`) count like any other, but are never held back
by the allowance: `refusal` lets them through.

The query uses the outbox's openid index (a member has tens of rows, not thousands). Measured on
PostgreSQL, 1M rows, 20 a member: 11-17 ms a batch of 1000 members, 0.08 ms for one member. An
(openid, sent_at) index cut the batch to 3 ms but made inserting and settling rows 20-40%
slower, and tortoise's SQLite migration for it dropped the table's other indexes: not added.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q

from club.db.models.members import Member
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.db.openids import with_openid
from club.messaging.kinds import MARKETING
from club.messaging.plan import Contact, DeliveryRules, window_closed

REPLY_KIND = "reply"
"""Outbox kind of a deferred answer to the member's message (bot.conversation)."""
OUTCOME_UNKNOWN_PREFIX = "outcome unknown"
"""How `club.messaging.delivery` marks a row that may have reached WeChat (a test pins it)."""
SEND_TIME_MARGIN = timedelta(seconds=30)
"""At sending time the message goes out now: only the HTTP call's own time is left to allow."""
CAP_PERIOD = timedelta(days=7)
"""The frequency cap counts marketing messages over the last seven days."""


async def custom_sent(
    openids: Iterable[str], *, since: datetime, now: datetime, exclude_id: int | None = None
) -> dict[str, tuple[datetime, ...]]:
    """When customer-service messages went (or are going) to each member, from `since` on."""
    wanted = list(dict.fromkeys(openids))
    if not wanted:
        return {}
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        # A greeting batch asks for a thousand members: one array parameter, where the query
        # builder's IN list of a thousand parameters cost more than the query.
        sql, values = _CUSTOM_SENT_PG, [wanted, since, f"{OUTCOME_UNKNOWN_PREFIX}%"]
        if exclude_id is not None:
            sql, values = sql + ' AND "id" <> $4', [*values, exclude_id]
        raw = await conn.execute_query_dict(sql, values)
        rows: list[Any] = [
            (r["openid"], r["status"], _datetime(r["sent_at"]), _datetime(r["updated_at"]))
            for r in raw
        ]
    else:
        counted = (
            Q(status=OutboxStatus.SENT, sent_at__gte=since)
            | Q(status=OutboxStatus.SENDING)
            | Q(
                status=OutboxStatus.FAILED,
                last_error__startswith=OUTCOME_UNKNOWN_PREFIX,
                updated_at__gte=since,
            )
        )
        query = OutboxMessage.filter(counted, openid__in=wanted, channel=OutboxChannel.CUSTOM)
        if exclude_id is not None:
            query = query.exclude(id=exclude_id)
        rows = await query.values_list("openid", "status", "sent_at", "updated_at")
    found: defaultdict[str, list[datetime]] = defaultdict(list)
    for openid, status, sent_at, updated_at in rows:
        if status == OutboxStatus.SENT and sent_at is not None:
            found[openid].append(sent_at)
        elif status == OutboxStatus.SENDING:
            found[openid].append(now)  # reaching WeChat about now
        else:
            found[openid].append(updated_at)
    return {openid: tuple(sorted(times)) for openid, times in found.items()}


_CUSTOM_SENT_PG = f"""
SELECT "openid", "status", "sent_at", "updated_at" FROM "outbox_message"
WHERE "openid" = ANY($1::varchar[]) AND "channel" = '{OutboxChannel.CUSTOM.value}' AND (
    ("status" = '{OutboxStatus.SENT.value}' AND "sent_at" >= $2)
    OR "status" = '{OutboxStatus.SENDING.value}'
    OR ("status" = '{OutboxStatus.FAILED.value}' AND "last_error" LIKE $3 AND "updated_at" >= $2)
)"""  # noqa: S608 (constants only)
_DATETIME = OutboxMessage._meta.fields_map["sent_at"]


def _datetime(value: datetime | None) -> datetime | None:
    """A time as the ORM reads it (in the configured time zone)."""
    converted: datetime | None = _DATETIME.to_python_value(value)
    return converted


def since_for(rules: DeliveryRules, now: datetime) -> datetime:
    """The earliest send that can still count: no opening older than the longest window does."""
    return now - max(rules.window, rules.window_after_event)


async def marketing_recent(openids: Iterable[str], *, now: datetime) -> dict[str, int]:
    """How many marketing messages each member has queued, sent or being sent in 7 days (the
    frequency cap; skipped rows do not count, and neither do failures known not to have gone)."""
    wanted = list(dict.fromkeys(openids))
    if not wanted:
        return {}
    since = now - CAP_PERIOD
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        raw = await conn.execute_query_dict(
            _MARKETING_PG, [wanted, sorted(MARKETING), since, f"{OUTCOME_UNKNOWN_PREFIX}%"]
        )
        return {str(r["openid"]): int(r["n"]) for r in raw}
    counted = Q(status__in=[OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT]) | Q(
        status=OutboxStatus.FAILED, last_error__startswith=OUTCOME_UNKNOWN_PREFIX
    )
    rows: list[Any] = await OutboxMessage.filter(
        counted, openid__in=wanted, kind__in=sorted(MARKETING), created_at__gte=since
    ).values_list("openid", flat=True)
    found: defaultdict[str, int] = defaultdict(int)
    for openid in rows:
        found[str(openid)] += 1
    return dict(found)


_MARKETING_PG = f"""
SELECT "openid", count(*) AS n FROM "outbox_message"
WHERE "openid" = ANY($1::varchar[]) AND "kind" = ANY($2::varchar[]) AND "created_at" >= $3 AND (
    "status" IN ('{OutboxStatus.QUEUED.value}', '{OutboxStatus.SENDING.value}',
                 '{OutboxStatus.SENT.value}')
    OR ("status" = '{OutboxStatus.FAILED.value}' AND "last_error" LIKE $4)
)
GROUP BY "openid"
"""  # noqa: S608 (constants only)


def contact_from(
    row: Mapping[str, Any] | Member,
    sent: Mapping[str, tuple[datetime, ...]],
    marketing: Mapping[str, int] | None = None,
) -> Contact:
    """A delivery Contact from a member (model or `.values()` row), `custom_sent`'s result and
    `marketing_recent`'s."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
    status = get("status")
    openid = str(get("openid"))
    return Contact(
        status=str(getattr(status, "value", status)),
        last_interaction_at=get("last_interaction_at"),
        unreachable=get("unreachable_at") is not None,
        last_message_at=get("last_message_at"),
        custom_sent=sent.get(openid, ()),
        marketing_recent=(marketing or {}).get(openid, 0),
    )


async def member_contact(member: Member, rules: DeliveryRules, now: datetime) -> Contact:
    sent = await custom_sent([member.openid], since=since_for(rules, now), now=now)
    marketing = await marketing_recent([member.openid], now=now)
    return contact_from(member, sent, marketing)


async def contact_for(member_id: int, rules: DeliveryRules, now: datetime) -> Contact | None:
    """The delivery Contact of a member by id, or None when there is no such member."""
    member = await Member.get_or_none(id=member_id)
    return None if member is None else await member_contact(member, rules, now)


async def refusal(row: OutboxMessage, rules: DeliveryRules, now: datetime) -> str | None:
    """At sending time: why this claimed customer-service row must not go now, or None.

    The row itself is `sending` and not counted. Replies, and rows for no member we know (a
    staff notice by openid), are left to WeChat.
    """
    if row.channel is not OutboxChannel.CUSTOM or row.kind == REPLY_KIND:
        return None
    member = (
        await Member.get_or_none(id=row.member_id)
        if row.member_id is not None
        else await with_openid(row.openid).get_or_none()
    )
    if member is None:
        return None
    sent = await custom_sent([row.openid], since=since_for(rules, now), now=now, exclude_id=row.id)
    contact = contact_from(member, sent)
    return window_closed(contact, replace(rules, window_margin=SEND_TIME_MARGIN), now)
