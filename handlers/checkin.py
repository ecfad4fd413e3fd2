"""`签到` / `checkin` and menu CHECKIN: once a day, with the streak bonus."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.points.checkin import check_in
from club.rules.standing import MemberBlocked
from handlers.dialogs import invite_to_join
from handlers.texts import t

router = Router("checkin")


@router.text("签到", "每日签到", "checkin", "check in", "check-in")
@router.click("CHECKIN")
async def checkin(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    try:
        result = await check_in(ctx.member.member_id, ctx.now, ctx.deps.programme)
    except MemberBlocked:
        return TextReply(t("member_blocked", ctx.lang))
    if result.already:
        return TextReply(t("checkin_already", ctx.lang, streak=result.streak))
    text = t(
        "checkin_done",
        ctx.lang,
        streak=result.streak,
        points=result.points + result.bonus,
        balance=result.balance,
    )
    if result.bonus:
        text += t("checkin_bonus", ctx.lang, bonus=result.bonus)
    if result.capped:
        text += t("checkin_capped", ctx.lang)
    return TextReply(text)
