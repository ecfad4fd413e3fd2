"""Bottle codes: typed as text, or scanned with the menu's scan button (`scancode_waitmsg`, or
`scancode_push`).

A typed message is taken for a code when it has the code's shape: 12 letters and digits, in any
grouping. So that a short English sentence is not read as a mistyped code, it must also contain a
digit, or be written in capitals, or be one word; a printed code almost always has a digit and is
read off the cap in capitals.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.codes.bottle import CodeOutcome, CodeStatus, redeem_code
from club.codes.codegen import format_code
from handlers.dialogs import invite_to_join
from handlers.texts import t

router = Router("codes")

_SEPARATOR = r"[\s\-_.·—]*"
CODE_TEXT = re.compile(
    r"^(?:(?=.*\d)|(?=[^a-z]*$)|(?=\S*$))"  # a digit, or no lower case, or no space
    rf"(?:[A-Za-z0-9]{_SEPARATOR}){{11}}[A-Za-z0-9]$"
)
_SCANNED_TAIL = re.compile(r"[/=?&#]")


def scanned_code(result: str) -> str:
    """The code in a scan result: the text itself, or the last part of a URL on the cap."""
    return _SCANNED_TAIL.split(result.strip())[-1]


def _reply(ctx: Context, outcome: CodeOutcome) -> Reply:
    status = outcome.status
    if status is CodeStatus.NOT_A_MEMBER:
        return invite_to_join(ctx)
    if status is CodeStatus.EARNED:
        text = t("code_earned", ctx.lang, points=outcome.points, balance=outcome.balance)
    elif status is CodeStatus.USED_BY_YOU:
        text = t("code_used_by_you", ctx.lang, points=outcome.points)
    elif status is CodeStatus.USED_BY_OTHER:
        text = t("code_used_by_other", ctx.lang)
    elif status is CodeStatus.MISTYPED:
        text = t("code_mistyped", ctx.lang, code=format_code(outcome.code))
    elif status is CodeStatus.UNKNOWN:
        text = t("code_unknown", ctx.lang)
    elif status is CodeStatus.LIMIT_REACHED:
        text = t("code_limit", ctx.lang, limit=outcome.limit)
    elif status is CodeStatus.TOO_MANY_FAILED and outcome.per_day:
        text = t("code_paused_day", ctx.lang, limit=outcome.limit)
    elif status is CodeStatus.TOO_MANY_FAILED:
        text = t("code_paused_hour", ctx.lang, limit=outcome.limit, time=_minute(outcome))
    elif status is CodeStatus.BLOCKED:
        text = t("member_blocked", ctx.lang)
    elif status is CodeStatus.CAPPED:
        key = "code_capped_day" if outcome.per_day else "code_capped_month"
        text = t(key, ctx.lang, limit=outcome.limit)
    else:
        text = t("code_not_ours", ctx.lang)
    return TextReply(text)


def _minute(outcome: CodeOutcome) -> str:
    """When codes are taken again, as HH:MM rounded up: never a minute that is still paused."""
    if outcome.retry_at is None:
        return ""
    at = outcome.retry_at
    if at.second or at.microsecond:
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return at.strftime("%H:%M")


@router.regex(CODE_TEXT)
async def typed(ctx: Context) -> Reply | None:
    return await _redeem(ctx, ctx.text)


@router.scan_waitmsg()
@router.event("scancode_push")
async def scanned(ctx: Context) -> Reply | None:
    return await _redeem(ctx, scanned_code(ctx.message.scan_result or ""))


async def _redeem(ctx: Context, text: str) -> Reply:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    outcome = await redeem_code(ctx.member.member_id, text, ctx.now, ctx.deps.programme)
    return _reply(ctx, outcome)
