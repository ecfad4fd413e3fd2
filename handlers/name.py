"""`称呼` / `name`: see or change how the member is addressed (`称呼 王先生` sets it at once)."""

from __future__ import annotations

import re

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.enrolment import set_name
from club.members.names import MAX_NAME, InvalidName, NameProblem
from handlers.dialogs import enter, expired, invite_to_join, live_data
from handlers.texts import t

router = Router("name")

ASK = "name:ask"
_INLINE = re.compile(
    r"^(?:称呼|我的称呼|name|my name is)\s*[:：]?\s+(\S.*)$|^称呼[:：]?(\S.*)$", re.I
)
"""`称呼 王先生`, `称呼：王先生`, `name Lily`, `my name is Lily`: the word and the name at once."""
_PROBLEMS = {
    NameProblem.EMPTY: "name_empty",
    NameProblem.TOO_LONG: "name_too_long",
    NameProblem.NO_LETTERS: "name_no_letters",
}


@router.text("称呼", "我的称呼", "name", "my name")
async def ask(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    await enter(ctx, ASK)
    prompt = t("name_ask", ctx.lang)
    if ctx.member.name is None:
        return TextReply(prompt)
    return TextReply(t("name_current", ctx.lang, name=ctx.member.name) + "\n" + prompt)


@router.regex(_INLINE)
async def set_inline(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    assert ctx.match is not None
    return await _save(ctx, ctx.match.group(1) or ctx.match.group(2))


@router.state(ASK)
async def answer(ctx: Context) -> Reply | None:
    if await live_data(ctx) is None:
        return expired(ctx, "word_name")
    return await _save(ctx, ctx.text)


async def _save(ctx: Context, text: str) -> Reply:
    try:
        name = await set_name(ctx.member.member_id, text, ctx.now)
    except InvalidName as exc:
        problem = t(_PROBLEMS[exc.problem], ctx.lang, max=MAX_NAME)
        if ctx.state.current == ASK:
            return TextReply(t("name_expected", ctx.lang, problem=problem))
        return TextReply(problem)
    await ctx.state.clear()
    return TextReply(t("name_saved", ctx.lang, name=name))
