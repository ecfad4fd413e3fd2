"""`生日` / `birthday`: see, set or change the birthday (`生日 5月20日` sets it at once)."""

from __future__ import annotations

import re

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.birthday_text import BirthdayError
from club.members.data_rights import export_member_data
from club.members.enrolment import parse_birthday, set_birthday
from handlers.dialogs import enter, expired, invite_to_join, live_data
from handlers.formatting import birthday, birthday_problem
from handlers.texts import t

router = Router("birthday")

ASK = "birthday:ask"
_INLINE = re.compile(
    r"^(?:生日|birthday)\s*[:：]?\s*"
    r"((?:[0-9农阴旧闰正腊冬一二三四五六七八九十]|lunar|leap).*)$",
    re.IGNORECASE,
)
"""`生日 5月20日`: the word and a date in one message (`生日快乐` is not a date)."""


@router.text("生日", "我的生日", "birthday")
async def ask(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    stored = await export_member_data(ctx.member.member_id)
    await enter(ctx, ASK)
    examples = t("birthday_examples", ctx.lang)
    prompt = t("birthday_ask", ctx.lang, examples=examples)
    current = stored.profile.birthday
    if current is None:
        return TextReply(prompt)
    return TextReply(t("birthday_current", ctx.lang, birthday=birthday(current, ctx.lang)) + prompt)


@router.regex(_INLINE)
async def set_inline(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    assert ctx.match is not None
    return await _save(ctx, ctx.match.group(1))


@router.state(ASK)
async def answer(ctx: Context) -> Reply | None:
    if await live_data(ctx) is None:
        return expired(ctx, "word_birthday")
    inline = _INLINE.match(ctx.text)
    return await _save(ctx, inline.group(1) if inline else ctx.text)


async def _save(ctx: Context, text: str) -> Reply:
    try:
        value = parse_birthday(text, today=ctx.now.date())
    except BirthdayError as exc:
        problem = birthday_problem(exc, ctx.lang)
        if ctx.state.current == ASK:
            return TextReply(t("birthday_expected", ctx.lang, problem=problem))
        return TextReply(problem)
    await set_birthday(ctx.member.member_id, value, ctx.now)
    await ctx.state.clear()
    return TextReply(t("birthday_saved", ctx.lang, birthday=birthday(value, ctx.lang)))
