"""`取消` / `cancel` ends any dialog; registered in the first pass, before dialog steps."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from handlers.texts import t

router = Router("cancel")


@router.cancel("取消", "cancel", "退出")
async def cancel(ctx: Context) -> Reply | None:
    if ctx.state.current is None:
        return TextReply(t("nothing_to_cancel", ctx.lang))
    await ctx.state.clear()
    return TextReply(t("cancelled", ctx.lang))
