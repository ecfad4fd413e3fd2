"""The enrolment dialog: `入会` / `join` -> consent -> phone -> birthday -> how to address the
member -> confirm -> welcome.

Each step is a dialog state; a wrong answer gets what the step expects and keeps the state.
`入会` during the dialog repeats the current step (the dialog resumes where it stopped); once the
dialog has expired it starts again at consent. Consent is recorded when given (nothing personal is
stored without it); the phone, birthday and name wait in the dialog data, which expires, until the
member confirms, and then go into the database in one transaction with the welcome bonus.
"""

from __future__ import annotations

from bot.fsm import Scalar
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.members.birthday_text import Birthday, BirthdayError, LunarBirthday, SolarBirthday
from club.members.enrolment import (
    ConsentRequired,
    EnrolmentStatus,
    MemberNotFound,
    card_view,
    complete_enrolment,
    parse_birthday,
    record_consent,
)
from club.members.names import MAX_NAME, InvalidName, NameProblem, validate_name
from club.members.phone import InvalidPhone, PhoneProblem, mask_phone, validate_phone
from club.sales.counter import credit_on_join
from handlers.card import card_text, show_card
from handlers.dialogs import AGREE, CONFIRM, JOIN_WORDS, SKIP, enter, live_data, said
from handlers.formatting import birthday as birthday_text
from handlers.formatting import birthday_problem
from handlers.texts import t

router = Router("enrol")

CONSENT = "enrol:consent"
PHONE = "enrol:phone"
BIRTHDAY = "enrol:birthday"
NAME = "enrol:name"
CONFIRM_STEP = "enrol:confirm"
_JOIN = frozenset(JOIN_WORDS)


def _encode(value: Birthday | None) -> dict[str, Scalar]:
    if value is None:
        return {"bd": "none"}
    if isinstance(value, SolarBirthday):
        return {"bd": "solar", "bd_m": value.month, "bd_d": value.day, "bd_y": value.year}
    return {"bd": "lunar", "bd_m": value.month, "bd_d": value.day, "bd_leap": value.leap}


def _decode(data: dict[str, Scalar]) -> Birthday | None:
    kind, month, day = data.get("bd"), data.get("bd_m"), data.get("bd_d")
    if not isinstance(month, int) or not isinstance(day, int):
        return None
    if kind == "solar":
        year = data.get("bd_y")
        return SolarBirthday(month, day, year if isinstance(year, int) else None)
    if kind == "lunar":
        return LunarBirthday(month, day, data.get("bd_leap") is True)
    return None


def _prompt(ctx: Context, state: str | None, data: dict[str, Scalar]) -> str:
    """What the step asks for (also the answer to `入会` in the middle of the dialog)."""
    if state == PHONE:
        return t("enrol_phone", ctx.lang)
    if state == BIRTHDAY:
        return t("enrol_birthday", ctx.lang, examples=t("birthday_examples", ctx.lang))
    if state == NAME:
        return t("enrol_name", ctx.lang)
    if state == CONFIRM_STEP:
        name = data.get("name")
        return t(
            "enrol_confirm",
            ctx.lang,
            phone=mask_phone(str(data.get("phone") or "")),
            birthday=birthday_text(_decode(data), ctx.lang),
            name=name if isinstance(name, str) else t("not_recorded", ctx.lang),
        )
    programme = ctx.deps.programme
    english = ctx.lang == "en"
    return t(
        "enrol_consent",
        ctx.lang,
        club=programme.name_en if english else programme.name_zh,
        version=programme.consent.version,
        consent=programme.consent.text_en if english else programme.consent.text_zh,
    )


async def _start(ctx: Context, *, restart: bool = False) -> Reply:
    await enter(ctx, CONSENT)
    prompt = _prompt(ctx, CONSENT, {})
    return TextReply(t("enrol_restart", ctx.lang, prompt=prompt) if restart else prompt)


@router.text(*JOIN_WORDS)
async def join(ctx: Context) -> Reply | None:
    if ctx.member.joined:
        card = await card_view(ctx.member.member_id, ctx.now, ctx.deps.programme)
        return TextReply(t("already_member", ctx.lang) + "\n" + card_text(ctx, card))
    return await _start(ctx)


@router.state(CONSENT, PHONE, BIRTHDAY, NAME, CONFIRM_STEP)
async def step(ctx: Context) -> Reply | None:
    if ctx.member.joined:
        await ctx.state.clear()
        return await show_card(ctx)
    data = await live_data(ctx)
    if data is None:
        return await _start(ctx, restart=True)
    state = ctx.state.current
    if said(ctx, _JOIN):
        await enter(ctx, state or CONSENT, **data)  # the member is back: the expiry starts anew
        return TextReply(t("enrol_resume", ctx.lang, prompt=_prompt(ctx, state, data)))
    if state == CONSENT:
        return await _consent(ctx)
    if state == PHONE:
        return await _phone(ctx)
    if state == BIRTHDAY:
        return await _birthday(ctx, data)
    if state == NAME:
        return await _name(ctx, data)
    return await _confirm(ctx, data)


async def _consent(ctx: Context) -> Reply:
    if not said(ctx, AGREE):
        return TextReply(t("enrol_consent_expected", ctx.lang))
    await record_consent(ctx.member.member_id, ctx.now, ctx.deps.programme)
    await enter(ctx, PHONE)
    return TextReply(_prompt(ctx, PHONE, {}))


_PHONE_PROBLEMS = {
    PhoneProblem.EMPTY: "enrol_phone",
    PhoneProblem.NOT_DIGITS: "phone_not_digits",
    PhoneProblem.WRONG_LENGTH: "phone_wrong_length",
    PhoneProblem.NOT_MOBILE: "phone_not_mobile",
}


async def _phone(ctx: Context) -> Reply:
    try:
        phone = validate_phone(ctx.text)
    except InvalidPhone as exc:
        return TextReply(t(_PHONE_PROBLEMS[exc.problem], ctx.lang))
    await enter(ctx, BIRTHDAY, phone=phone)
    return TextReply(_prompt(ctx, BIRTHDAY, {}))


async def _birthday(ctx: Context, data: dict[str, Scalar]) -> Reply:
    value: Birthday | None = None
    if not said(ctx, SKIP):
        try:
            value = parse_birthday(ctx.text, today=ctx.now.date())
        except BirthdayError as exc:
            problem = birthday_problem(exc, ctx.lang)
            return TextReply(t("enrol_birthday_expected", ctx.lang, problem=problem))
    await enter(ctx, NAME, phone=data.get("phone"), **_encode(value))
    return TextReply(_prompt(ctx, NAME, {}))


_NAME_PROBLEMS = {
    NameProblem.EMPTY: "name_empty",
    NameProblem.TOO_LONG: "name_too_long",
    NameProblem.NO_LETTERS: "name_no_letters",
}


async def _name(ctx: Context, data: dict[str, Scalar]) -> Reply:
    name: str | None = None
    if not said(ctx, SKIP):
        try:
            name = validate_name(ctx.text)
        except InvalidName as exc:
            problem = t(_NAME_PROBLEMS[exc.problem], ctx.lang, max=MAX_NAME)
            return TextReply(t("enrol_name_expected", ctx.lang, problem=problem))
    details = {**data, "name": name}
    await enter(ctx, CONFIRM_STEP, **details)
    return TextReply(_prompt(ctx, CONFIRM_STEP, details))


async def _confirm(ctx: Context, data: dict[str, Scalar]) -> Reply:
    if not said(ctx, CONFIRM):
        return TextReply(t("enrol_confirm_expected", ctx.lang))
    programme = ctx.deps.programme
    try:
        name = data.get("name")
        result = await complete_enrolment(
            ctx.member.member_id, str(data.get("phone") or ""), _decode(data), ctx.now, programme,
            name=name if isinstance(name, str) else None, on_join=credit_on_join(programme),
        )  # fmt: skip
    except (ConsentRequired, InvalidPhone, InvalidName, MemberNotFound):
        # Consent or the details went missing behind the dialog's back: ask again from the start.
        return await _start(ctx)
    await ctx.state.clear()
    if result.status is EnrolmentStatus.ALREADY_MEMBER:
        return TextReply(card_text(ctx, result.card))
    club = programme.name_en if ctx.lang == "en" else programme.name_zh
    text = t(
        "enrol_done",
        ctx.lang,
        club=club,
        points=result.welcome_points,
        card=card_text(ctx, result.card),
    )
    credited = result.counter
    if credited.purchases:
        text += "\n" + t(
            "enrol_counter_credited", ctx.lang, count=credited.purchases, points=credited.points
        )
    return TextReply(text)
