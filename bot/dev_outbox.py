"""`GET /dev/outbox?openid=...&after=<id>[&ids=<id>,<id>]`: the outbox rows for one member, for
`bot chat`.

Only mounted in dry-run mode, where the outbox is where messages go instead of WeChat; it lets
the terminal chat show what the club pushed to its member (deferred replies, greetings) and
whether each is still queued (quiet hours), sent, or skipped and why. `ids` asks again for rows
the chat saw queued, so it can say when they went.
"""

from __future__ import annotations

from aiohttp import web

from bot.jsontext import json_response
from club.db.models.outbox import OutboxMessage

LIMIT = 100
MAX_IDS = 100


def _ids(raw: str) -> list[int] | None:
    parts = [p for p in raw.split(",") if p]
    if len(parts) > MAX_IDS or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


async def outbox_rows(request: web.Request) -> web.Response:
    openid = request.query.get("openid", "")
    after_raw = request.query.get("after", "0") or "0"
    ids = _ids(request.query.get("ids", ""))
    if not openid or len(openid) > 64 or not after_raw.isdigit() or ids is None:
        return json_response(
            {"error": "openid, a numeric after and at most 100 numeric ids are required"},
            status=400,
        )
    rows = (
        await OutboxMessage.filter(openid=openid, id__gt=int(after_raw)).order_by("id").limit(LIMIT)
    )
    if ids:
        again = await OutboxMessage.filter(openid=openid, id__in=ids).order_by("id")
        rows = [*again, *(r for r in rows if r.id not in set(ids))]
    return json_response(
        [
            {
                "id": row.id,
                "kind": row.kind,
                "channel": str(row.channel),
                "status": str(row.status),
                "outcome": row.outcome,
                "not_before": row.not_before.isoformat() if row.not_before else None,
                "last_error": row.last_error,
                "dry_run": row.dry_run,
                "payload": row.payload,
                "created_at": row.created_at.isoformat(),
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            }
            for row in rows
        ]
    )


def setup_dev_outbox(app: web.Application) -> None:
    app.router.add_get("/dev/outbox", outbox_rows)
