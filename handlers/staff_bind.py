"""`绑定 <code>` / `bind <code>`: a staff member binds this WeChat to their staff account with the
one-time code the staff API gave them (campaign tests then come here)."""

from __future__ import annotations

import re

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.staff.wechat import bind
from handlers.texts import t

router = Router("staff_bind")


@router.regex(re.compile(r"^(?:绑定|bind)\s*([A-Za-z0-9]{6})$", re.IGNORECASE))
async def bind_staff(ctx: Context) -> Reply | None:
    assert ctx.match is not None
    bound = await bind(ctx.message.openid, ctx.match.group(1).upper(), ctx.now)
    if bound is None:
        return TextReply(t("staff_bind_failed", ctx.lang))
    return TextReply(t("staff_bound", ctx.lang, name=bound.staff_name))
