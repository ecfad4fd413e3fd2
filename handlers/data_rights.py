"""Member data rights: `我的数据` shows what is stored; `删除我的数据`, once confirmed, erases it.

The export is the member's own copy, so the phone number is shown whole. Erasure replaces the
openid, so whatever the member sends next starts as a new, empty contact.
"""

from __future__ import annotations

import contextlib

from bot.messages import normalise
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.data_rights import erase_member_data, export_member_data
from club.members.enrolment import MemberNotFound
from club.members.records import member_number
from club.members.sources import Source, describe_source
from handlers.dialogs import enter, expired, live_data
from handlers.formatting import birthday, day
from handlers.texts import Lang, t

router = Router("data_rights")

ERASE = "data:erase"
_ERASE_CONFIRM = frozenset(normalise(w) for w in ("确认删除", "confirm delete"))
"""Only what the prompt asks for: erasure is not undone, so no "ok" or "确认" erases."""


def source_text(source: Source, lang: Lang) -> str:
    """Where the member came from, by name: 门店 上海一店 / store 上海一店."""
    if source.name is None:
        return source.scene
    return t("source_store" if source.kind == "store" else "source_staff", lang, name=source.name)


@router.text("我的数据", "查看我的数据", "my data")
async def export(ctx: Context) -> Reply | None:
    stored = await export_member_data(ctx.member.member_id)
    profile, lang = stored.profile, ctx.lang
    missing = t("not_recorded", lang)
    tz = ctx.now.tzinfo
    programme = ctx.deps.programme
    tier = programme.tiers.get(profile.tier) if profile.tier in programme.tiers.codes else None
    consent = (
        t("data_consent", lang, date=day(profile.consent_at.astimezone(tz), lang),
          version=profile.consent_version)
        if profile.consent_at is not None
        else missing
    )  # fmt: skip
    found = await describe_source(profile.source_kind, profile.source_ref)
    source = source_text(found, lang) if found is not None else missing
    text = t(
        "data_export",
        lang,
        number=member_number(profile.member_id),
        name=profile.name or missing,
        phone=profile.phone or missing,
        birthday=birthday(profile.birthday, lang),
        consent=consent,
        joined=day(profile.joined_at.astimezone(tz), lang) if profile.joined_at else missing,
        tier=(tier.name_en if lang == "en" else tier.name_zh) if tier else missing,
        balance=profile.points_balance,
        source=source,
        ledger=len(stored.ledger),
        purchases=len(stored.purchases),
        redemptions=len(stored.redemptions),
        codes=len(stored.bottle_codes),
        checkins=len(stored.checkins),
    )
    return TextReply(text)


@router.text("删除我的数据", "删除数据", "delete my data", "erase my data")
async def ask_erase(ctx: Context) -> Reply | None:
    await enter(ctx, ERASE)
    return TextReply(t("data_erase_ask", ctx.lang))


@router.state(ERASE)
async def confirm_erase(ctx: Context) -> Reply | None:
    if await live_data(ctx) is None:
        return expired(ctx, "word_erase")
    if normalise(ctx.text) not in _ERASE_CONFIRM:
        return TextReply(t("data_erase_expected", ctx.lang))
    await ctx.state.clear()
    with contextlib.suppress(MemberNotFound):  # nothing left to erase: the answer is the same
        await erase_member_data(ctx.member.member_id, ctx.now)
    return TextReply(t("data_erased", ctx.lang))
