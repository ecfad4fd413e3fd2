"""The member card (menu CARD) and the tier ladder with its benefits (`等级` / `tier`)."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.enrolment import CardView, card_view
from club.members.records import member_number
from club.tiers.service import tier_status
from club.value.accounts import account_of_member
from handlers.dialogs import invite_to_join
from handlers.formatting import yuan
from handlers.texts import Lang, t

router = Router("card")


def tier_name(card: CardView, lang: Lang) -> str:
    return card.tier_name_en if lang == "en" else card.tier_name_zh


def card_text(ctx: Context, card: CardView) -> str:
    programme = ctx.deps.programme
    return t(
        "card",
        ctx.lang,
        club=programme.name_en if ctx.lang == "en" else programme.name_zh,
        number=member_number(card.member_id),
        tier=tier_name(card, ctx.lang),
        balance=card.balance,
        phone=card.masked_phone or t("not_recorded", ctx.lang),
    )


async def show_card(ctx: Context) -> Reply:
    """The card of a member who has joined (also the answer to `入会` once joined)."""
    card = await card_view(ctx.member.member_id, ctx.now, ctx.deps.programme)
    return TextReply(card_text(ctx, card))


@router.click("CARD")
async def card(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    return await show_card(ctx)


@router.text("等级", "会员等级", "tier", "tiers")
async def tiers(ctx: Context) -> Reply | None:
    programme = ctx.deps.programme
    lines = [t("tiers_header", ctx.lang)]
    for tier in programme.tiers.tiers:
        condition = (
            t("tiers_condition", ctx.lang, months=programme.tier_review.months,
              threshold=yuan(tier.threshold_fen, ctx.lang))
            if tier.threshold_fen > 0
            else t("tiers_condition_entry", ctx.lang)
        )  # fmt: skip
        lines.append(
            t(
                "tiers_line",
                ctx.lang,
                tier=tier.name_en if ctx.lang == "en" else tier.name_zh,
                condition=condition,
                multiplier=f"{tier.earn_multiplier.normalize():f}",
                gift=tier.birthday_gift_points,
            )
        )
    if ctx.member.joined:
        standing = await tier_status(ctx.member.member_id, ctx.now, programme)
        current = standing.tier.name_en if ctx.lang == "en" else standing.tier.name_zh
        lines.append(t("tiers_current", ctx.lang, tier=current))
        account = await account_of_member(ctx.member.member_id, ctx.now, programme)
        if account is not None:
            level = account.tier.name_en if ctx.lang == "en" else account.tier.name_zh
            lines.append(t("tiers_account", ctx.lang, account=account.name, tier=level))
    return TextReply("\n".join(lines))
