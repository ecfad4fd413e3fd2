"""The greetings' bulk insert: rows as the ORM makes them, each key once, the due ids returned."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from club.db import outbox_bulk
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.db.outbox_bulk import NewOutboxRow, encode_payload, existing_keys, insert_new
from club.messaging.window import custom_sent
from tests.conftest import ON_POSTGRES

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 25, 10, 0, tzinfo=TZ)
PAYLOAD: dict[str, Any] = {
    "msgtype": "template",
    "template_id": "demo-tmpl-festival",
    "data": {"title": "中秋节", "content": "中秋快乐！", "date": "2026-09-25"},
    "url": None,
}


def row(key: str, **changes: Any) -> NewOutboxRow:
    values: dict[str, Any] = {
        "idempotency_key": key,
        "openid": f"o{key}",
        "member_id": 7,
        "kind": "festival",
        "channel": OutboxChannel.TEMPLATE,
        "payload_json": encode_payload(PAYLOAD),
        "status": OutboxStatus.QUEUED,
        "last_error": None,
        "not_before": None,
    } | changes
    return NewOutboxRow(**values)


def columns(message: OutboxMessage) -> dict[str, Any]:
    names = OutboxMessage._meta.db_fields - {"id", "idempotency_key", "created_at", "updated_at"}
    return {name: getattr(message, name) for name in names}


async def test_a_row_is_the_row_the_orm_makes(db: None) -> None:
    later = NOW + timedelta(hours=11)
    new = row("bulk", not_before=later, status=OutboxStatus.SKIPPED, last_error="skipped: x")
    await OutboxMessage.create(
        idempotency_key="orm",
        openid=new.openid,
        member_id=new.member_id,
        kind=new.kind,
        channel=new.channel,
        payload=PAYLOAD,
        status=new.status,
        last_error=new.last_error,
        not_before=new.not_before,
    )
    await insert_new([new], now=NOW)
    orm = await OutboxMessage.get(idempotency_key="orm")
    bulk = await OutboxMessage.get(idempotency_key="bulk")
    assert columns(bulk) == columns(orm)
    assert bulk.payload == PAYLOAD and bulk.not_before == later
    assert bulk.dry_run is False and bulk.attempts == 0 and bulk.sent_at is None
    # Written at the club's clock (the weekly cap counts by it), not the machine's.
    assert bulk.created_at == NOW


def test_the_statement_names_every_column_of_the_model() -> None:
    for name in OutboxMessage._meta.db_fields - {"id"}:
        assert f'"{name}"' in outbox_bulk._INSERT_PG, name


async def test_a_key_present_is_left_alone_and_not_handed_on(db: None) -> None:
    await insert_new([row("k1", kind="birthday")], now=NOW)
    first = await OutboxMessage.get(idempotency_key="k1")
    due = await insert_new([row("k1"), row("k2")], now=NOW, due_at=NOW)
    kept = await OutboxMessage.get(idempotency_key="k1")
    assert kept.kind == "birthday" and kept.updated_at == first.updated_at
    second = await OutboxMessage.get(idempotency_key="k2")
    if ON_POSTGRES:
        assert due == [second.id]  # only the row this call inserted
    else:
        assert second.id in due  # read back by key: the old row may be there too
    assert await existing_keys(["k1", "k2", "k3"]) == {"k1", "k2"}
    assert await existing_keys([]) == set()


async def test_only_queued_rows_due_now_are_handed_on(db: None) -> None:
    due = await insert_new(
        [
            row("now"),
            row("past", not_before=NOW - timedelta(minutes=1)),
            row("at", not_before=NOW),
            row("later", not_before=NOW + timedelta(seconds=1)),
            row("skipped", status=OutboxStatus.SKIPPED, last_error="skipped: member blocked"),
        ],
        now=NOW,
        due_at=NOW,
    )
    keys: list[Any] = await OutboxMessage.filter(id__in=due).values_list(
        "idempotency_key", flat=True
    )
    assert sorted(keys) == ["at", "now", "past"]
    assert await insert_new([row("quiet")], now=NOW) == []  # nobody asked for the due ids
    assert await insert_new([], now=NOW, due_at=NOW) == []


async def test_custom_sent_reads_the_same_on_both_databases(db: None) -> None:
    sent_at = NOW - timedelta(hours=2)
    counted = await OutboxMessage.create(
        idempotency_key="sent",
        openid="oSent",
        kind="festival",
        payload={"msgtype": "text", "text": "hi"},
        status=OutboxStatus.SENT,
        sent_at=sent_at,
    )
    await OutboxMessage.create(
        idempotency_key="sending",
        openid="oSent",
        kind="festival",
        payload={"msgtype": "text", "text": "hi"},
        status=OutboxStatus.SENDING,
    )
    since = NOW - timedelta(hours=48)
    sent = await custom_sent(["oSent", "oSent", "oOther"], since=since, now=NOW)
    assert sent == {"oSent": (sent_at, NOW)}
    assert sent["oSent"][0].utcoffset() == timedelta(hours=8)  # the club's zone, as the ORM reads
    alone = await custom_sent(["oSent"], since=since, now=NOW, exclude_id=counted.id)
    assert alone == {"oSent": (NOW,)}
    assert await custom_sent(["oSent"], since=sent_at + timedelta(seconds=1), now=NOW) == {
        "oSent": (NOW,)
    }
