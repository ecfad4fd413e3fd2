"""Text nothing else understood: point the member to help. Other messages get `success`."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from handlers.texts import t

router = Router("fallback")


@router.fallback()
async def not_understood(ctx: Context) -> Reply | None:
    return TextReply(t("fallback", ctx.lang))
