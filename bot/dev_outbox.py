"""`GET /dev/outbox?openid=...&after=<id>`: the outbox rows for one member, for `bot chat`.

Only mounted in dry-run mode, where the outbox is where messages go instead of WeChat; it lets
the terminal chat show what the club pushed to its member (deferred replies, greetings).
"""

from __future__ import annotations

from aiohttp import web

from club.db.models.outbox import OutboxMessage

LIMIT = 100


async def outbox_rows(request: web.Request) -> web.Response:
    openid = request.query.get("openid", "")
    after_raw = request.query.get("after", "0") or "0"
    if not openid or len(openid) > 64 or not after_raw.isdigit():
        return web.json_response({"error": "openid and a numeric after are required"}, status=400)
    rows = (
        await OutboxMessage.filter(openid=openid, id__gt=int(after_raw)).order_by("id").limit(LIMIT)
    )
    return web.json_response(
        [
            {
                "id": row.id,
                "kind": row.kind,
                "channel": str(row.channel),
                "status": str(row.status),
                "dry_run": row.dry_run,
                "payload": row.payload,
                "created_at": row.created_at.isoformat(),
            }
            for row in rows
        ]
    )


def setup_dev_outbox(app: web.Application) -> None:
    app.router.add_get("/dev/outbox", outbox_rows)
