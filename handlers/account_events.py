"""Events WeChat sends about the account's own sends: MASSSENDJOBFINISH says how a mass send went
(total, filtered out, sent, failed), for the campaign that made it."""

from __future__ import annotations

from bot.replies import Reply
from bot.router import Context, Router
from club.campaigns.mass import MassResult, record_result

router = Router("account_events")


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


@router.event("masssendjobfinish")
async def mass_send_finished(ctx: Context) -> Reply | None:
    fields = ctx.message.fields
    msg_id = ctx.message.msg_id or _count(fields.get("MsgID"))
    if msg_id is None:
        return None
    result = MassResult(
        msg_id=msg_id,
        status=fields.get("Status", ""),
        total=_count(fields.get("TotalCount")),
        filtered=_count(fields.get("FilterCount")),
        sent=_count(fields.get("SentCount")),
        errors=_count(fields.get("ErrorCount")),
    )
    await record_result(ctx.deps.campaigns, result, ctx.now)
    return None
