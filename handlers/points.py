"""`积分` / `points` (and menu POINTS): balance, tier, spend to the next tier, what expires next;
`明细` / `history`: the latest movements with their reasons."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.enrolment import card_view
from club.points.views import movements
from club.rules import reasons
from club.rules.programme import Programme
from handlers.card import tier_name
from handlers.dialogs import invite_to_join
from handlers.formatting import day, yuan
from handlers.texts import t

router = Router("points")

HISTORY_LINES = 10


def festival_names(programme: Programme) -> dict[str, tuple[str, str]]:
    """Each festival's name in either language -> its (Chinese, English) names: gift reasons
    name the festival."""
    names: dict[str, tuple[str, str]] = {}
    for festival in programme.festivals:
        both = (festival.name_zh, festival.name_en)
        names[festival.name_zh] = names[festival.name_en] = both
    return names


@router.text("积分", "我的积分", "查积分", "points", "balance")
@router.click("POINTS")
async def points(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    card = await card_view(ctx.member.member_id, ctx.now, ctx.deps.programme)
    lines = [t("points", ctx.lang, balance=card.balance, tier=tier_name(card, ctx.lang))]
    if card.spend_to_next_fen is None:
        lines.append(t("points_top_tier", ctx.lang))
    else:
        above = card.next_tier_name_en if ctx.lang == "en" else card.next_tier_name_zh
        amount = yuan(card.spend_to_next_fen, ctx.lang)
        lines.append(t("points_next_tier", ctx.lang, amount=amount, tier=above))
    if card.expiring_points > 0 and card.expiring_on is not None:
        when = day(card.expiring_on, ctx.lang)
        lines.append(t("points_expiring", ctx.lang, points=card.expiring_points, date=when))
    if card.debt > 0:
        lines.append(t("points_debt", ctx.lang, debt=card.debt))
    return TextReply("\n".join(lines))


@router.text("明细", "积分明细", "history")
async def history(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    latest = await movements(ctx.member.member_id, limit=HISTORY_LINES)
    if not latest:
        return TextReply(t("history_empty", ctx.lang))
    lines = [t("history_header", ctx.lang)]
    names = festival_names(ctx.deps.programme)
    for line in latest:
        when = day(line.created_at.astimezone(ctx.now.tzinfo), ctx.lang)
        reason = reasons.shown(line.reason, ctx.lang, names)
        lines.append(t("history_line", ctx.lang, date=when, points=line.points, reason=reason))
    return TextReply("\n".join(lines))
