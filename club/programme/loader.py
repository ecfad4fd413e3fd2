"""Read a programme from TOML and validate it; every error names the key at fault."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from club.programme import menu as programme_menu
from club.programme import sections
from club.programme.campaigns import campaigns
from club.programme.messages import (
    BIRTHDAY_PLACEHOLDERS,
    LANGUAGES,
    OPTIONAL,
    PLACEHOLDERS,
    check_placeholders,
    check_text,
)
from club.programme.table import Table as _Table
from club.programme.templates import parse_templates
from club.programme.value_rules import churn_rules, value_rules
from club.rules.programme import (
    AmountLimits,
    Birthday,
    BottleCodeLimits,
    Calendar,
    Consent,
    Delivery,
    Earning,
    ExpiryKind,
    ExpiryRule,
    Festival,
    Messages,
    Programme,
    ProgrammeError,
    Text,
    Tier,
    TierLadder,
    TierReview,
)

_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30}


def _tiers(root: _Table) -> TierLadder:
    tiers: list[Tier] = []
    for table in root.tables("tiers"):
        tiers.append(
            Tier(
                code=table.string("code"),
                name_zh=table.string("name_zh"),
                name_en=table.string("name_en"),
                threshold_fen=table.integer("threshold_fen"),
                earn_multiplier=table.decimal("earn_multiplier"),
                birthday_gift_points=table.integer("birthday_gift_points", default=0),
            )
        )
    if not tiers:
        raise ProgrammeError("tiers: at least one tier is needed")
    if tiers[0].threshold_fen != 0:
        raise ProgrammeError("tiers[0].threshold_fen: the first tier must start at 0")
    for i in range(1, len(tiers)):
        if tiers[i].threshold_fen <= tiers[i - 1].threshold_fen:
            raise ProgrammeError(f"tiers[{i}].threshold_fen: thresholds must rise tier by tier")
    codes = [t.code for t in tiers]
    for i, code in enumerate(codes):
        if codes.index(code) != i:
            raise ProgrammeError(f"tiers[{i}].code: {code!r} is used twice")
    return TierLadder(tuple(tiers))


def _expiry(table: _Table) -> ExpiryRule:
    rule = table.string("rule")
    reminder = table.integer("reminder_days", low=1, high=365, default=30)
    if rule == ExpiryKind.END_OF_NEXT_YEAR:
        return ExpiryRule(ExpiryKind.END_OF_NEXT_YEAR, None, reminder)
    if rule == ExpiryKind.ROLLING_DAYS:
        return ExpiryRule(ExpiryKind.ROLLING_DAYS, table.integer("days", low=1), reminder)
    raise ProgrammeError(
        f"{table.key('rule')}: {rule!r} is not one of end_of_next_year, rolling_days"
    )


def _festival(table: _Table, tiers: TierLadder) -> Festival:
    calendar_name = table.string("calendar")
    try:
        calendar = Calendar(calendar_name)
    except ValueError:
        raise ProgrammeError(f"{table.key('calendar')}: expected solar or lunar") from None
    month = table.integer("month", low=1, high=12)
    day_max = 30 if calendar is Calendar.LUNAR else _MONTH_DAYS.get(month, 31)
    day = table.integer("day", low=1, high=day_max)
    gifts = table.per_tier("gift_points", tiers, required=False)
    for code, points in gifts.items():
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            raise ProgrammeError(f"{table.key('gift_points')}.{code}: expected points >= 0")
    return Festival(
        key=table.string("key"),
        name_zh=table.string("name_zh"),
        name_en=table.string("name_en"),
        calendar=calendar,
        month=month,
        day=day,
        text_zh=table.string("text_zh"),
        text_en=table.string("text_en"),
        gift_points=tuple((code, gifts[code]) for code in tiers.codes if code in gifts),
    )


def _texts(table: _Table, name: str, tiers: TierLadder) -> tuple[tuple[str, str], ...]:
    texts = table.per_tier(name, tiers, required=True)
    for code, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise ProgrammeError(f"{table.key(name)}.{code}: expected a non-empty string")
        check_placeholders(f"{table.key(name)}.{code}", text, BIRTHDAY_PLACEHOLDERS)
    return tuple((code, texts[code]) for code in tiers.codes)


def _delivery(table: _Table) -> Delivery:
    if "templates" in table.data:
        raise ProgrammeError(
            f"{table.key('templates')}: template ids by kind are replaced by a [templates] table "
            "that maps each announcement to a template id and its fields (see "
            "config/programme.example.toml)"
        )
    return Delivery(
        quiet_start=table.clock_time("quiet_start"),
        quiet_end=table.clock_time("quiet_end"),
        window_hours=table.integer("window_hours", low=1, high=48),
        marketing_per_week=table.integer("marketing_per_week", low=0, high=100, default=3),
        # WeChat's limits since June 2023 are 5 after a message and 3 (for one minute) after a
        # click, scan or follow; up to 20 is accepted in case it raises them again.
        window_messages_after_message=table.integer(
            "window_messages_after_message", low=0, high=20, default=5
        ),
        window_messages_after_event=table.integer(
            "window_messages_after_event", low=0, high=20, default=3
        ),
        window_minutes_after_event=table.integer(
            "window_minutes_after_event", low=0, high=48 * 60, default=1
        ),
    )


def _messages(table: _Table) -> Messages:
    unknown = sorted(set(table.data) - set(PLACEHOLDERS))
    if unknown:
        raise ProgrammeError(f"{table.key(unknown[0])}: not a message the club sends")
    texts: dict[str, Text] = {}
    for name in PLACEHOLDERS:
        if name not in table.data and name in OPTIONAL:
            texts[name] = Text(**OPTIONAL[name])
            continue
        message = table.table(name)
        extra = sorted(set(message.data) - set(LANGUAGES))
        if extra:
            raise ProgrammeError(f"{message.key(extra[0])}: expected only zh and en")
        for lang in LANGUAGES:
            check_text(message.key(lang), name, message.string(lang))
        texts[name] = Text(zh=message.string("zh"), en=message.string("en"))
    return Messages(**texts)


def _code_limits(table: _Table) -> BottleCodeLimits:
    failed_per_hour = table.integer("failed_per_hour", low=1, default=5)
    failed_per_day = table.integer("failed_per_day", low=1, default=10)
    if failed_per_day < failed_per_hour:
        raise ProgrammeError(
            f"{table.key('failed_per_day')}: {failed_per_day} is below failed_per_hour"
            f" ({failed_per_hour})"
        )
    return BottleCodeLimits(
        per_hour=table.integer("per_hour", low=1),
        per_day=table.integer("per_day", low=1),
        failed_per_hour=failed_per_hour,
        failed_per_day=failed_per_day,
    )


def _limits(root: _Table) -> AmountLimits:
    """Optional: a programme without `[limits]` gets the defaults of `AmountLimits`."""
    if "limits" not in root.data:
        return AmountLimits()
    table, default = root.table("limits"), AmountLimits()
    return AmountLimits(
        max_purchase_fen=table.integer(
            "max_purchase_fen", low=1, high=10**11, default=default.max_purchase_fen
        ),
        max_credit_points=table.integer(
            "max_credit_points", low=1, high=10**9, default=default.max_credit_points
        ),
    )


def parse_programme(data: Mapping[str, Any]) -> Programme:
    """Build and validate a programme from parsed TOML."""
    root = _Table(data, "")
    tiers = _tiers(root)
    earning = root.table("earning")
    limits = root.table("bottle_codes")
    birthday = root.table("birthday")
    review = root.table("tier_review")
    consent = root.table("consent")
    festivals = [_festival(t, tiers) for t in root.tables("festivals")]
    keys = [f.key for f in festivals]
    for i, key in enumerate(keys):
        if keys.index(key) != i:
            raise ProgrammeError(f"festivals[{i}].key: {key!r} is used twice")
    return Programme(
        name_zh=root.string("name_zh"),
        name_en=root.string("name_en"),
        tiers=tiers,
        earning=Earning(
            points_per_yuan=earning.integer("points_per_yuan", low=0),
            welcome_bonus=earning.integer("welcome_bonus"),
            checkin_points=earning.integer("checkin_points"),
            checkin_streak_days=earning.integer("checkin_streak_days", low=2),
            checkin_streak_bonus=earning.integer("checkin_streak_bonus"),
        ),
        expiry=_expiry(root.table("expiry")),
        bottle_codes=_code_limits(limits),
        festivals=tuple(festivals),
        birthday=Birthday(
            send_time=birthday.clock_time("send_time"),
            texts_zh=_texts(birthday, "text_zh", tiers),
            texts_en=_texts(birthday, "text_en", tiers),
        ),
        delivery=_delivery(root.table("delivery")),
        tier_review=TierReview(
            day_of_month=review.integer("day_of_month", low=1, high=28),
            months=review.integer("months", low=1, high=36, default=12),
        ),
        consent=Consent(
            version=consent.string("version"),
            text_zh=consent.string("text_zh"),
            text_en=consent.string("text_en"),
        ),
        messages=_messages(root.table("messages")),
        templates=parse_templates(root.raw("templates", None)),
        limits=_limits(root),
        counter=sections.counter(root),
        vouchers=sections.vouchers(root),
        rewards=sections.rewards(root, tiers),
        staff=sections.staff(root),
        earning_caps=sections.earning_caps(root),
        menu=programme_menu.menu(root),
        campaigns=campaigns(root),
        value=value_rules(root.table("value")),
        churn=churn_rules(root),
    )


def parse_programme_text(text: str, *, source: str = "<programme>") -> Programme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammeError(f"{source}: not valid TOML: {exc}") from None
    try:
        return parse_programme(data)
    except ProgrammeError as exc:
        raise ProgrammeError(f"{source}: {exc}") from None
