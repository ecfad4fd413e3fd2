"""What a member can do: `帮助` / `help`, the menu's HELP button, and greetings (你好, hello, an
emoji alone), which a new contact answers with the welcome and a member with their name and
the help."""

from __future__ import annotations

import re
import unicodedata

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from handlers.texts import t

router = Router("help")

GREETINGS = frozenset(
    {
        "你好", "您好", "你好啊", "您好啊", "你们好", "大家好", "嗨", "哈喽", "哈啰", "哈罗",
        "在吗", "在么", "在不在", "有人吗", "早", "早上好", "上午好", "中午好", "下午好", "晚上好",
        "hi", "hello", "hey", "hallo", "hiya", "good morning", "good afternoon", "good evening",
    }
)  # fmt: skip
_WECHAT_FACES = re.compile(r"^(?:\[[^\[\]\s]{1,8}\])+$")
"""WeChat's own faces arrive as their names in brackets: [微笑], [Smile]."""


_SPACING = frozenset({"Mn", "Me", "Cf", "Sk", "Sm"})
"""Besides punctuation and spaces: what joins or varies an emoji (ZWJ, VS16, skin tones), and
signs such as ～."""


def is_greeting(text: str) -> bool:
    """A greeting word (with or without punctuation and emoji), or emoji alone."""
    if _WECHAT_FACES.match(text):
        return True
    kept, pictures = [], False
    for ch in text:
        category = unicodedata.category(ch)
        if category == "So":
            pictures = True
        elif category[0] in "PZ" or category in _SPACING:
            kept.append(" ")
        else:
            kept.append(ch)
    words = " ".join("".join(kept).casefold().split())
    return words in GREETINGS if words else pictures


@router.text("帮助", "help", "?", "？")
@router.click("HELP")
async def show_help(ctx: Context) -> Reply | None:
    return TextReply(t("help", ctx.lang))


@router.text_where(is_greeting)
async def greet(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return TextReply(t("welcome", ctx.lang))
    name = ctx.member.name
    hello = t("hello_member", ctx.lang, name=name) if name else t("hello_member_unnamed", ctx.lang)
    return TextReply(hello + "\n" + t("help", ctx.lang))
