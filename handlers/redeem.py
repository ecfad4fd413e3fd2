"""`兑换` / `redeem` and menu REDEEM: the rewards list -> choose by number -> confirm.

The list is what the member could redeem when it was shown; the choice is checked again by the
redemption itself (stock, tier, limit, balance), which takes points and stock in one transaction.
The redemption's request reference is fixed when the member chooses, so a confirmation that
arrives twice redeems once.
"""

from __future__ import annotations

import re

from bot.fsm import Scalar
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.rewards.redemptions import RedemptionRefused, Refusal, list_rewards, redeem
from handlers.dialogs import CONFIRM, enter, expired, invite_to_join, live_data, said
from handlers.formatting import day
from handlers.texts import t

router = Router("redeem")

CHOOSE = "redeem:choose"
CONFIRM_STEP = "redeem:confirm"
LIST_MAX = 9
"""Rewards shown at most (one digit to type)."""
WORDS = ("兑换", "积分兑换", "兑换礼品", "redeem", "rewards")
_WORDS = frozenset(WORDS)
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.。号]?\s*$")
_REFUSALS = {
    Refusal.NOT_ENOUGH_POINTS: "redeem_refused_not_enough_points",
    Refusal.OUT_OF_STOCK: "redeem_refused_out_of_stock",
    Refusal.MEMBER_LIMIT: "redeem_refused_member_limit",
    Refusal.TIER_TOO_LOW: "redeem_refused_tier_too_low",
    Refusal.UNAVAILABLE: "redeem_refused_unavailable",
    Refusal.BLOCKED: "member_blocked",
}


@router.text(*WORDS)
@router.click("REDEEM")
async def show_list(ctx: Context) -> Reply | None:
    if not ctx.member.joined:
        return invite_to_join(ctx)
    if ctx.member.status == "blocked":
        await ctx.state.clear()
        return TextReply(t("member_blocked", ctx.lang))
    offers = (await list_rewards(ctx.member.member_id, ctx.now, ctx.deps.programme))[:LIST_MAX]
    if not offers:
        await ctx.state.clear()
        return TextReply(t("redeem_none", ctx.lang))
    lines = [t("redeem_list_header", ctx.lang)]
    data: dict[str, Scalar] = {"count": len(offers)}
    for n, offer in enumerate(offers, start=1):
        reward = offer.reward
        line = t("redeem_list_line", ctx.lang, n=n, name=reward.name, cost=reward.points_cost)
        if not offer.affordable:
            line += t("redeem_list_short", ctx.lang, short=offer.points_short)
        lines.append(line)
        if reward.description.strip():
            lines.append(t("redeem_list_description", ctx.lang, description=reward.description))
        data |= {f"id{n}": reward.id, f"name{n}": reward.name, f"cost{n}": reward.points_cost}
        data[f"short{n}"] = offer.points_short
    lines.append(
        t("redeem_list_footer_one" if len(offers) == 1 else "redeem_list_footer", ctx.lang)
    )
    await enter(ctx, CHOOSE, **data)
    return TextReply("\n".join(lines))


@router.state(CHOOSE, CONFIRM_STEP)
async def step(ctx: Context) -> Reply | None:
    if said(ctx, _WORDS):
        return await show_list(ctx)
    data = await live_data(ctx)
    if data is None:
        return expired(ctx, "word_redeem")
    if ctx.state.current == CHOOSE:
        return await _choose(ctx, data)
    return await _confirm(ctx, data)


async def _choose(ctx: Context, data: dict[str, Scalar]) -> Reply:
    count = int(data.get("count") or 0)
    found = _NUMBER.match(ctx.text)
    n = int(found.group(1)) if found else 0
    if not 1 <= n <= count:
        key = "redeem_choose_expected_one" if count == 1 else "redeem_choose_expected"
        return TextReply(t(key, ctx.lang, count=count))
    name, cost, short = data.get(f"name{n}"), data.get(f"cost{n}"), data.get(f"short{n}")
    if isinstance(short, int) and short > 0:
        return TextReply(t("redeem_too_expensive", ctx.lang, name=name, cost=cost, short=short))
    ref = f"chat:{ctx.member.member_id}:{ctx.message.msg_id or ctx.message.create_time}"
    await enter(ctx, CONFIRM_STEP, reward=data.get(f"id{n}"), name=name, cost=cost, ref=ref)
    return TextReply(t("redeem_confirm", ctx.lang, name=name, cost=cost))


async def _confirm(ctx: Context, data: dict[str, Scalar]) -> Reply:
    name = data.get("name")
    if not said(ctx, CONFIRM):
        return TextReply(t("redeem_confirm_expected", ctx.lang, name=name))
    reward_id, ref = data.get("reward"), data.get("ref")
    await ctx.state.clear()
    if not isinstance(reward_id, int) or not isinstance(ref, str):
        return TextReply(t("redeem_refused_other", ctx.lang))
    try:
        done = await redeem(ctx.member.member_id, reward_id, ctx.now, ref, ctx.deps.programme)
    except RedemptionRefused as exc:
        return TextReply(t(_REFUSALS.get(exc.reason, "redeem_refused_other"), ctx.lang))
    values: dict[str, object] = {
        "name": done.reward_name,
        "voucher": done.voucher_code,
        "balance": done.balance,
    }
    if done.expires_at is None:
        return TextReply(t("redeem_done", ctx.lang, **values))
    # To the minute, in the club's time zone: it stops being usable at that moment of the day.
    expiry = done.expires_at.astimezone(ctx.now.tzinfo)
    until = f"{day(expiry, ctx.lang)} {expiry:%H:%M}"
    return TextReply(t("redeem_done_until", ctx.lang, until=until, **values))
