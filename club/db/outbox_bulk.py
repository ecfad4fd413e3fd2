"""New outbox rows in bulk, each idempotency key at most once: the greeting jobs' insert.

On PostgreSQL a batch is one statement, `INSERT ... SELECT FROM unnest(...) ON CONFLICT
(idempotency_key) DO NOTHING RETURNING ...`: the values travel as one array a column (no model
objects, no statement a row), and the rows it returns are exactly the ones this call inserted,
so the ids that are due now need no second query. A key already present (an earlier run, a
concurrent one) is left as it is and not returned. Elsewhere (SQLite, one process) the ORM's
`bulk_create(ignore_conflicts=True)` does it, and the due rows are then read back by key.

Every column is filled as the ORM would fill it: `created_at` and `updated_at` the time of the
insert, and the model's defaults for the columns a new row does not set (dry_run, attempts,
wechat_msgid, sent_at, outcome, first_attempt_at, maybe_sent, maybe_sent_at). A test compares a
row inserted here with one made by `create()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from tortoise import connections, timezone
from tortoise.fields.data import JSONField

from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.db.raw import dialect, execute

_PAYLOAD_FIELD = cast("JSONField[Any]", OutboxMessage._meta.fields_map["payload"])

_INSERT_PG = """
INSERT INTO "outbox_message" (
    "idempotency_key", "openid", "member_id", "kind", "channel", "payload", "status",
    "last_error", "not_before", "dry_run", "attempts", "wechat_msgid", "sent_at",
    "outcome", "first_attempt_at", "maybe_sent", "maybe_sent_at", "created_at", "updated_at"
)
SELECT k, o, m, kd, c, p::jsonb, s, e, nb, $10, $11, NULL, NULL, NULL, NULL, FALSE, NULL, $12, $12
FROM unnest(
    $1::varchar[], $2::varchar[], $3::bigint[], $4::varchar[], $5::varchar[], $6::text[],
    $7::varchar[], $8::varchar[], $9::timestamptz[]
) AS v(k, o, m, kd, c, p, s, e, nb)
ON CONFLICT ("idempotency_key") DO NOTHING
RETURNING "id", "idempotency_key", "status", "not_before"
"""

_EXISTING_PG = (
    'SELECT "idempotency_key" FROM "outbox_message" WHERE "idempotency_key" = ANY($1::varchar[])'
)


class NewOutboxRow(NamedTuple):
    """One message to record (a plain tuple: a batch makes a thousand). `payload_json` is the
    payload already encoded (`encode_payload`): rows with the same payload can share one."""

    idempotency_key: str
    openid: str
    member_id: int | None
    kind: str
    channel: OutboxChannel
    payload_json: str
    status: OutboxStatus = OutboxStatus.QUEUED
    last_error: str | None = None
    not_before: datetime | None = None


def encode_payload(payload: Any) -> str:
    """The payload as the model's JSON field stores it (its own encoder)."""
    text: str = _PAYLOAD_FIELD.encoder(payload)
    return text


def is_due(status: str, not_before: datetime | None, now: datetime) -> bool:
    """A row the senders may take now: queued, and not held until later."""
    return status == OutboxStatus.QUEUED.value and (not_before is None or not_before <= now)


async def existing_keys(keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys the outbox has already."""
    if not keys:
        return set()
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        # A thousand keys as one array: the query builder's IN list of a thousand
        # parameters cost more than the query.
        rows = await conn.execute_query_dict(_EXISTING_PG, [list(keys)])
        return {str(row["idempotency_key"]) for row in rows}
    found: list[Any] = await OutboxMessage.filter(idempotency_key__in=list(keys)).values_list(
        "idempotency_key", flat=True
    )
    return {str(k) for k in found}


class Inserted(NamedTuple):
    id: int
    idempotency_key: str
    due: bool
    """Queued and not held past the `due_at` asked about."""


async def insert_new(
    rows: Sequence[NewOutboxRow], *, now: datetime, due_at: datetime | None = None
) -> list[int]:
    """Insert the rows whose key is not in the outbox yet; the rest are left untouched.

    Returns the ids of inserted rows that are due at `due_at` (none asked: `[]`)."""
    if due_at is None:
        await insert_rows(rows, now=now, due_at=None)
        return []
    return [row.id for row in await insert_rows(rows, now=now, due_at=due_at) if row.due]


async def insert_rows(
    rows: Sequence[NewOutboxRow], *, now: datetime, due_at: datetime | None
) -> list[Inserted]:
    """Insert the rows whose key is not in the outbox yet, as created at `now` (the club's
    clock, which the weekly cap counts by); returns the rows this call inserted (with `due_at`
    None, none are read back). On SQLite (one process) the keys already present are looked up
    first and the new rows read back by key after the insert."""
    if not rows:
        return []
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        return await _insert_pg(conn, rows, now, due_at)
    present = await existing_keys([r.idempotency_key for r in rows])
    rows = [r for r in rows if r.idempotency_key not in present]
    if not rows:
        return []
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                idempotency_key=r.idempotency_key,
                openid=r.openid,
                member_id=r.member_id,
                kind=r.kind,
                channel=r.channel,
                payload=r.payload_json,
                status=r.status,
                last_error=r.last_error,
                not_before=r.not_before,
                created_at=now,
            )
            for r in rows
        ],
        ignore_conflicts=True,
    )
    if due_at is None:
        return []
    found = await OutboxMessage.filter(
        idempotency_key__in=[r.idempotency_key for r in rows]
    ).values_list("id", "idempotency_key", "status", "not_before")
    return [
        Inserted(int(i), str(key), is_due(str(status), not_before, due_at))
        for i, key, status, not_before in found
    ]


async def _insert_pg(
    conn: Any, rows: Sequence[NewOutboxRow], now: datetime, due_at: datetime | None
) -> list[Inserted]:
    fields = OutboxMessage._meta.fields_map
    # One array a column, in the order of the statement's unnest (the tuple's own order).
    values: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    values += [
        fields["dry_run"].default,
        fields["attempts"].default,
        now,  # created_at and updated_at: the club's clock
    ]
    inserted: list[dict[str, Any]] = await conn.execute_query_dict(_INSERT_PG, values)
    if due_at is None:
        return []
    return [
        Inserted(
            int(row["id"]),
            str(row["idempotency_key"]),
            is_due(str(row["status"]), row["not_before"], due_at),
        )
        for row in inserted
    ]


_MASS_INSERT = """
INSERT INTO outbox_message (
    idempotency_key, openid, member_id, kind, channel, payload, status, last_error, not_before,
    dry_run, attempts, wechat_msgid, sent_at, outcome, first_attempt_at, created_at, updated_at
)
SELECT {key}, r.openid, r.member_id, $1, $2, {payload}, $4, $9, NULL, $5, 1, $6, $10, $8,
       $7, $7, $7
FROM ({members}) AS r
WHERE TRUE
ON CONFLICT (idempotency_key) DO NOTHING
"""


async def insert_mass_rows(
    members_sql: str,
    values: Sequence[Any],
    *,
    key_sql: str,
    kind: str,
    payload_json: str,
    msgid: str | None,
    dry_run: bool,
    now: datetime,
    status: OutboxStatus = OutboxStatus.SENT,
    outcome: str = "sent",
    last_error: str | None = None,
) -> int:
    """Record the members of a mass send as outbox rows (channel `mass`), so that the frequency
    cap and the delivery figures count them: sent when WeChat accepted it (`outcome` "sent", or
    "dry_run"), or failed with the outbox's "outcome unknown" (`outcome` and `last_error`) when
    it never answered. One INSERT ... SELECT over `members_sql` (rows with `member_id` and
    `openid`; its placeholders start at $11), each key (`key_sql`, an SQL expression over `r`)
    once."""
    postgres = dialect() == "postgres"
    at = now if postgres else now.astimezone(timezone.get_default_timezone())
    sent_at = at if status is OutboxStatus.SENT else None
    head = [kind, OutboxChannel.MASS.value, payload_json, status.value, dry_run]
    payload = "$3::jsonb" if postgres else "$3"
    sql = _MASS_INSERT.format(key=key_sql, members=members_sql, payload=payload)
    return await execute(sql, [*head, msgid, at, outcome, last_error, sent_at, *values])
