"""What a member can do: `帮助` / `help` and the menu's HELP button."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from handlers.texts import t

router = Router("help")


@router.text("帮助", "help", "?", "？")
@router.click("HELP")
async def show_help(ctx: Context) -> Reply | None:
    return TextReply(t("help", ctx.lang))
