"""`English` / `中文`: the member's language from now on, answered in it. Taken in any dialog
state (before its steps) and the dialog goes on where it was."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.contact import set_language
from club.members.language import SWITCH_WORDS, switch_to
from handlers.texts import t

router = Router("language")


@router.anytime(*SWITCH_WORDS)
async def switch(ctx: Context) -> Reply | None:
    lang = switch_to(ctx.text)
    assert lang is not None  # the router matched one of the words
    await set_language(ctx.member.member_id, lang, ctx.now)
    ctx.lang = lang
    text = t("language_set", lang)
    if ctx.state.current is not None:
        text += "\n" + t("language_dialog_goes_on", lang)
    return TextReply(text)
