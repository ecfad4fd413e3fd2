"""Events WeChat sends about the account's own sends: MASSSENDJOBFINISH says how a mass send went
(total, filtered out, sent, failed), for the campaign that made it."""

from __future__ import annotations

from bot.replies import Reply
from bot.router import Context, Router
from club.campaigns.mass import MassResult, record_result

router = Router("account_events")

MAX_MSG_ID = 2**63 - 1
"""WeChat's message ids are 64-bit, as the mass send keeps them."""
MAX_COUNT = 2**31 - 1
"""The counts are kept in 32-bit columns: far more members than any account has."""


def _number(value: str | None, limit: int) -> int | None:
    """An ASCII number up to `limit`, else None: `str.isdigit` also takes "²" (which `int`
    refuses) and other scripts' digits, and a number past a column failed at the database; each
    answered WeChat's report with the apology and an ERROR."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= limit else None


@router.event("masssendjobfinish")
async def mass_send_finished(ctx: Context) -> Reply | None:
    fields = ctx.message.fields
    msg_id = ctx.message.msg_id or _number(fields.get("MsgID"), MAX_MSG_ID)
    if msg_id is None:
        return None
    result = MassResult(
        msg_id=msg_id,
        status=fields.get("Status", ""),
        total=_number(fields.get("TotalCount"), MAX_COUNT),
        filtered=_number(fields.get("FilterCount"), MAX_COUNT),
        sent=_number(fields.get("SentCount"), MAX_COUNT),
        errors=_number(fields.get("ErrorCount"), MAX_COUNT),
    )
    await record_result(ctx.deps.campaigns, result, ctx.now)
    return None
