"""Following, unfollowing and scanning a parametric QR code (`store_<id>`, `staff_<id>`)."""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.contact import parse_scene, record_follow, record_unfollow
from handlers.texts import t

router = Router("welcome")


@router.event("subscribe")
async def subscribe(ctx: Context) -> Reply | None:
    outcome = await record_follow(
        ctx.message.openid,
        now=ctx.now,
        scene=ctx.message.scene,
        wechat_create_time=ctx.message.create_time,
    )
    text = t("welcome" if outcome.first_follow or outcome.duplicate else "welcome_back", ctx.lang)
    if outcome.first_follow and outcome.source_kind == "store":
        days = ctx.deps.programme.counter.pending_days
        text += "\n" + t("welcome_store", ctx.lang, days=days)
    return TextReply(text)


@router.event("unsubscribe")
async def unsubscribe(ctx: Context) -> Reply | None:
    await record_unfollow(
        ctx.message.openid, now=ctx.now, wechat_create_time=ctx.message.create_time
    )
    return None  # the member no longer sees anything we send


@router.scan()
async def scan(ctx: Context) -> Reply | None:
    source = parse_scene(ctx.message.scene)
    kind = source[0] if source else None
    return TextReply(t("scan_store" if kind == "store" else "scan_other", ctx.lang))
