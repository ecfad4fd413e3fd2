"""What the club tells a member, each message built here once: the text in the member's language
and the values its template (if the programme maps one) is filled with.

Pure apart from reading the programme. A builder takes the domain's facts and returns a `Say`:
given the member (`Recipient`: language, name, tier), the `Announcement` to record. The outbox
(`club.messaging.outbox`) plans how it goes and writes it; nothing else builds these texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from club.messaging.kinds import Kind
from club.messaging.message import Content
from club.rules.programme import Festival, Programme, TemplateMapping, Text
from club.rules.wording import fill


@dataclass(frozen=True)
class Recipient:
    """What a message may say about the member it goes to."""

    member_id: int | None
    openid: str
    language: str = "zh"
    name: str | None = None
    tier: str | None = None

    @property
    def lang(self) -> str:
        return "en" if self.language == "en" else "zh"


@dataclass(frozen=True)
class Announcement:
    name: str
    """Its name in the programme's [templates] table (`club.programme.templates`)."""
    kind: Kind
    text: str
    """The customer-service text, in the member's language."""
    values: Mapping[str, object]
    """What its template's fields may use (`content` and `date` always among them)."""
    content: Content | None = None
    """What goes by customer service when it is not the text itself (a link card)."""
    template: TemplateMapping | None = None
    """Its own template (a campaign's), instead of the one the programme maps to `name`."""


@dataclass(frozen=True)
class Say:
    """What to tell a member, made for each recipient by `build`. `personal`: the text uses the
    member's name; otherwise it depends on their language and tier only, and a batch builds it
    once for each pair (a festival greeting to a million members is a handful of texts)."""

    build: Callable[[Recipient], Announcement]
    personal: bool = False

    def __call__(self, to: Recipient) -> Announcement:
        return self.build(to)


def template_date(day: date) -> str:
    """A date as template `time`/`date` fields take it (2026年12月4日), whatever the language."""
    return f"{day.year}年{day.month}月{day.day}日"


def _announce(announcement: str, kind: Kind, said: str, on: date, **values: object) -> Announcement:
    values = {"content": said, "date": template_date(on), **values}
    return Announcement(announcement, kind, said, values)


def _tier_name(programme: Programme, code: str, lang: str) -> str:
    tier = programme.tiers.get(code)
    return tier.name_en if lang == "en" else tier.name_zh


def tier_upgrade(programme: Programme, to_tier: str, now: datetime) -> Say:
    """The monthly review (or a staff floor) lifted the member's tier."""
    return _tier_up("tier_upgrade", programme.messages.tier_upgrade, programme, to_tier, now)


def _tier_up(name: str, message: Text, programme: Programme, to_tier: str, now: datetime) -> Say:
    def say(to: Recipient) -> Announcement:
        tier = _tier_name(programme, to_tier, to.lang)
        text = message.render(to.lang, tier=tier)
        return _announce(name, Kind.TIER_CHANGE, text, now.date(), tier=tier)

    return Say(say)


def tier_downgrade(programme: Programme, to_tier: str, now: datetime) -> Say:
    """The monthly review lowered the tier: said kindly, with what it takes to come back."""

    def say(to: Recipient) -> Announcement:
        lang = to.lang
        messages = programme.messages
        tier = _tier_name(programme, to_tier, lang)
        text = messages.tier_downgrade.render(lang, tier=tier)
        above = programme.tiers.above(to_tier)
        values: dict[str, object] = {"tier": tier, "regain_tier": "", "amount": 0, "months": 0}
        if above is not None:
            months = programme.tier_review.months
            regain_tier = _tier_name(programme, above.code, lang)
            amount = above.threshold_fen // 100
            regain = messages.tier_regain.render(
                lang, tier=regain_tier, amount=amount, months=months
            )
            # English sentences are separated by a space; Chinese ones follow on directly.
            text = f"{text} {regain}" if lang == "en" else text + regain
            values.update(regain_tier=regain_tier, amount=amount, months=months)
        return _announce("tier_downgrade", Kind.TIER_CHANGE, text, now.date(), **values)

    return Say(say)


def points_expiry(programme: Programme, points: int, last_day: date, now: datetime) -> Say:
    """`points` expire after `last_day` (the reminder, `reminder_days` before)."""

    def say(to: Recipient) -> Announcement:
        text = programme.messages.points_expiry.render(
            to.lang,
            points=points,
            date=last_day.isoformat(),
            year=last_day.year,
            month=last_day.month,
            day=last_day.day,
        )
        announcement = _announce(
            "points_expiry",
            Kind.POINTS_EXPIRY,
            text,
            now.date(),
            points=points,
            year=last_day.year,
            month=last_day.month,
            day=last_day.day,
        )
        # {date} in this template is the last valid day, not the day it is sent.
        values = {**announcement.values, "date": template_date(last_day)}
        return Announcement(announcement.name, announcement.kind, text, values)

    return Say(say)


def yuan(fen: int) -> str:
    """An amount as members read it: 120, 99.5, 0.01 (yuan, without trailing zeros)."""
    whole, cents = divmod(abs(fen), 100)
    sign = "-" if fen < 0 else ""
    if not cents:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{cents:02d}".rstrip("0")


@dataclass(frozen=True)
class PointsChange:
    """A movement of a member's points the member did not cause in chat."""

    points: int
    """Points moved (positive: how many were given or taken, by `kind`)."""
    balance: int
    amount_fen: int = 0
    order: str = ""
    reason: str = ""


def purchase(
    programme: Programme, change: PointsChange, upgraded_to: str | None, now: datetime
) -> Say:
    """A purchase recorded by staff: the points it earned and, when it lifted the tier, the
    congratulation after them, in one message."""

    def say(to: Recipient) -> Announcement:
        values: dict[str, object] = {
            "points": change.points,
            "balance": change.balance,
            "amount": yuan(change.amount_fen),
            "order": change.order,
        }
        text = programme.messages.points_earned.render(to.lang, **values)
        if upgraded_to is None:
            return _announce("points_earned", Kind.POINTS_CHANGE, text, now.date(), **values)
        tier = _tier_name(programme, upgraded_to, to.lang)
        up = programme.messages.purchase_upgrade.render(to.lang, tier=tier)
        text = f"{text} {up}" if to.lang == "en" else text + up
        return _announce(
            "purchase_upgrade", Kind.TIER_CHANGE, text, now.date(), tier=tier, **values
        )

    return Say(say)


def points_reversed(programme: Programme, change: PointsChange, now: datetime) -> Say:
    """A return recorded by staff took points back."""

    def say(to: Recipient) -> Announcement:
        values: dict[str, object] = {
            "points": change.points,
            "balance": change.balance,
            "amount": yuan(change.amount_fen),
            "order": change.order,
        }
        text = programme.messages.points_reversed.render(to.lang, **values)
        return _announce("points_reversed", Kind.POINTS_CHANGE, text, now.date(), **values)

    return Say(say)


def points_adjusted(
    programme: Programme, delta: int, balance: int, reason: str, now: datetime
) -> Say:
    """Staff adjusted the member's points (`delta` signed), with the reason they gave."""

    def say(to: Recipient) -> Announcement:
        values: dict[str, object] = {
            "change": f"{delta:+d}",
            "points": abs(delta),
            "balance": balance,
            "reason": reason,
        }
        text = programme.messages.points_adjusted.render(to.lang, **values)
        return _announce("points_adjusted", Kind.POINTS_CHANGE, text, now.date(), **values)

    return Say(say)


def voucher_expired(
    programme: Programme, reward: str, code: str, points_returned: int, now: datetime
) -> Say:
    """A voucher was not used in time; `points_returned` of its points went back to the
    member's balance (0: none, or none they can spend: those of lots expired since).

    Two announcements, each with its own text and template: a template's fields are fixed, so
    one that says how many points came back must not go when none did (`已过期，退回0积分`).
    `voucher_expired_refunded` takes the `voucher_expired` template where the programme maps
    none of its own (which cannot tell the points, and still says the voucher expired)."""
    values: dict[str, object] = {"reward": reward, "code": code}
    name, message = "voucher_expired", programme.messages.voucher_expired
    mapping = None
    if points_returned > 0:
        values["points"] = points_returned
        name, message = "voucher_expired_refunded", programme.messages.voucher_expired_refunded
        if programme.template_for(name) is None:
            mapping = programme.template_for("voucher_expired")

    def say(to: Recipient) -> Announcement:
        text = message.render(to.lang, **values)
        announcement = _announce(name, Kind.VOUCHER, text, now.date(), **values)
        return replace(announcement, template=mapping)

    return Say(say)


def ticket_answer(programme: Programme, text: str, now: datetime) -> Say:
    """A staff member's answer to the member's request for a person."""

    def say(to: Recipient) -> Announcement:
        said = programme.messages.ticket_answer.render(to.lang, text=text)
        return _announce("ticket_answer", Kind.TICKET, said, now.date(), text=text)

    return Say(say)


def ticket_closed(programme: Programme, now: datetime) -> Say:
    """Staff closed the member's request: chat answers as usual again."""

    def say(to: Recipient) -> Announcement:
        said = programme.messages.ticket_closed.render(to.lang)
        return _announce("ticket_closed", Kind.TICKET, said, now.date())

    return Say(say)


def reply(text: str, now: datetime, content: Content | None = None) -> Say:
    """A chat answer that missed WeChat's 5 seconds (already in the member's language);
    `content`: a link card to send instead of the text, when the answer was one."""

    def say(to: Recipient) -> Announcement:
        announcement = _announce("reply", Kind.REPLY, text, now.date())
        return Announcement(
            announcement.name, announcement.kind, text, announcement.values, content
        )

    return Say(say)


def greeting(programme: Programme, festivals: Sequence[Festival], birthday: bool, day: date) -> Say:
    """The day's festival greetings, then the birthday wish: one message."""

    def say(to: Recipient) -> Announcement:
        lang = to.lang
        tier = programme.tiers.get(to.tier)
        parts = [f.text_en if lang == "en" else f.text_zh for f in festivals]
        values: dict[str, object] = {
            "festival": "、".join(f.name_zh for f in festivals),
            "gift": sum(f.gift_for(tier.code) for f in festivals),
            "tier": tier.name_en if lang == "en" else tier.name_zh,
        }
        if birthday:
            name = to.name or ("dear member" if lang == "en" else "尊敬的会员")
            wish = programme.birthday.text_for(tier.code, lang)
            parts.append(fill(wish, {"name": name, "gift": tier.birthday_gift_points}))
            values.update(name=name, gift=tier.birthday_gift_points)
        text = "\n".join(parts)
        which = "birthday" if birthday else "festival"
        kind = Kind.BIRTHDAY if birthday else Kind.FESTIVAL
        return _announce(which, kind, text, day, **values)

    return Say(say, personal=birthday)


def campaign(
    programme: Programme,
    title: str,
    text: Text,
    now: datetime,
    *,
    link: Content | None = None,
    template: TemplateMapping | None = None,
    test: bool = False,
) -> Say:
    """A staff campaign: its text (or link card) by customer service, its own template (or the
    programme's `campaign` template) outside the window. `{name}`, `{tier}`, `{campaign}`,
    `{content}` and `{date}` fill the template's fields. `test`: the same message sent to a
    staff member's own WeChat before the campaign goes out (a service notice, never capped)."""

    def say(to: Recipient) -> Announcement:
        body = text.en if to.lang == "en" else text.zh
        kind = Kind.NOTICE if test else Kind.CAMPAIGN
        tier = programme.tiers.get(to.tier)
        announcement = _announce(
            "campaign",
            kind,
            body,
            now.date(),
            name=to.name or ("member" if to.lang == "en" else "会员"),
            tier=tier.name_en if to.lang == "en" else tier.name_zh,
            campaign=title,
        )
        return Announcement(announcement.name, kind, body, announcement.values, link, template)

    return Say(say, personal=True)  # a campaign's template may carry {name}
