"""The programme loader: the demo, the example file, and errors that name the bad key."""

from __future__ import annotations

import tomllib
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from club.programme import Calendar, ExpiryKind, ProgrammeError, load_programme, parse_programme
from club.programme.demo import DEMO_TOML

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "programme.example.toml"


def demo_data() -> dict[str, Any]:
    return tomllib.loads(DEMO_TOML)


def test_example_file_loads_to_the_demo() -> None:
    assert load_programme(EXAMPLE) == load_programme(None)


def test_demo_tiers_and_rules() -> None:
    p = load_programme(None)
    assert [t.name_zh for t in p.tiers.tiers] == ["品鉴会员", "银卡", "金卡", "黑金"]
    assert p.tiers.codes == ("taste", "silver", "gold", "black")
    assert p.tiers.lowest.threshold_fen == 0
    assert p.tiers.get("silver").earn_multiplier == Decimal("1.2")
    assert p.tiers.for_spend(299_999).code == "taste"
    assert p.tiers.for_spend(300_000).code == "silver"
    assert p.tiers.for_spend(10**9).code == "black"
    assert p.tiers.above("black") is None and p.tiers.below("taste") is None
    assert p.tiers.get(None).code == "taste"
    assert p.expiry.kind is ExpiryKind.END_OF_NEXT_YEAR and p.expiry.reminder_days == 30
    assert p.earning.points_per_yuan == 1 and p.earning.checkin_streak_days == 7
    assert p.birthday.send_time == time(10, 0)
    assert "{name}" in p.birthday.text_for("gold") and p.birthday.text_for("gold", "en")
    assert p.delivery.window_hours == 48
    assert p.delivery.is_quiet(time(21, 0)) and p.delivery.is_quiet(time(3, 0))
    assert not p.delivery.is_quiet(time(9, 0)) and not p.delivery.is_quiet(time(20, 59))
    birthday = p.template_for("birthday")
    assert birthday is not None and birthday.template_id == "demo-tmpl-birthday"
    assert p.template_for("nope") is None
    assert p.delivery.marketing_per_week == 3
    assert p.tier_review.day_of_month == 1 and p.tier_review.months == 12
    assert p.consent.version and "删除我的数据" in p.consent.text_zh


def test_demo_festivals() -> None:
    festivals = {f.name_zh: f for f in load_programme(None).festivals}
    assert list(festivals) == ["元旦", "春节", "元宵", "端午", "七夕", "中秋", "重阳", "国庆"]
    assert festivals["中秋"].calendar is Calendar.LUNAR
    assert (festivals["中秋"].month, festivals["中秋"].day) == (8, 15)
    assert festivals["国庆"].calendar is Calendar.SOLAR
    assert festivals["春节"].gift_for("black") == 300
    assert festivals["春节"].gift_for("taste") == 0


def test_rolling_expiry(tmp_path: Path) -> None:
    text = DEMO_TOML.replace(
        '[expiry]\nrule = "end_of_next_year"', '[expiry]\nrule = "rolling_days"\ndays = 365'
    )
    path = tmp_path / "club.toml"
    path.write_text(text, encoding="utf-8")
    p = load_programme(path)
    assert p.expiry.kind is ExpiryKind.ROLLING_DAYS and p.expiry.days == 365


def _broken(change: Any) -> str:
    data = demo_data()
    change(data)
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["earning"].pop("points_per_yuan"), "earning.points_per_yuan: missing"),
        (lambda d: d["earning"].update(welcome_bonus="100"), "earning.welcome_bonus"),
        (lambda d: d["earning"].update(welcome_bonus=-1), "earning.welcome_bonus"),
        (lambda d: d["tiers"][2].update(threshold_fen=100), "tiers[2].threshold_fen"),
        (lambda d: d["tiers"][0].update(threshold_fen=5), "tiers[0].threshold_fen"),
        (lambda d: d["tiers"][1].update(code="taste"), "tiers[1].code"),
        (lambda d: d["tiers"][1].update(earn_multiplier=0), "tiers[1].earn_multiplier"),
        (lambda d: d["expiry"].update(rule="forever"), "expiry.rule"),
        (lambda d: d["expiry"].update(rule="rolling_days"), "expiry.days: missing"),
        (lambda d: d["festivals"][3].update(calendar="mayan"), "festivals[3].calendar"),
        (lambda d: d["festivals"][0].update(month=13), "festivals[0].month"),
        (lambda d: d["festivals"][0].update(month=2, day=30), "festivals[0].day"),
        (lambda d: d["festivals"][1]["gift_points"].update(platinum=5), "platinum: not a tier"),
        (lambda d: d["birthday"]["text_zh"].pop("gold"), "birthday.text_zh.gold: missing"),
        (lambda d: d["birthday"].update(send_time="ten"), "birthday.send_time"),
        (lambda d: d["delivery"].update(window_hours=72), "delivery.window_hours"),
        (lambda d: d["tier_review"].update(day_of_month=31), "tier_review.day_of_month"),
        (lambda d: d["bottle_codes"].update(per_day=0), "bottle_codes.per_day"),
        (lambda d: d["limits"].update(max_purchase_fen=0), "limits.max_purchase_fen"),
        (lambda d: d["limits"].update(max_purchase_fen=10**12), "limits.max_purchase_fen"),
        (lambda d: d["limits"].update(max_credit_points="many"), "limits.max_credit_points"),
        (lambda d: d.update(limits=5), "limits: expected a table"),
        (lambda d: d.pop("consent"), "consent: missing"),
        (lambda d: d.update(tiers=[]), "tiers"),
        (lambda d: d.pop("messages"), "messages: missing"),
        (lambda d: d["messages"].pop("tier_regain"), "messages.tier_regain: missing"),
        (lambda d: d["messages"]["tier_upgrade"].pop("en"), "messages.tier_upgrade.en: missing"),
        (lambda d: d["messages"].update(farewell={}), "messages.farewell: not a message"),
        (lambda d: d["messages"]["tier_upgrade"].update(fr="x"), "messages.tier_upgrade.fr"),
        (
            lambda d: d["messages"]["tier_upgrade"].update(zh="恭喜{name}"),
            "messages.tier_upgrade.zh: unknown placeholder {name} (allowed: {tier})",
        ),
        (
            lambda d: d["messages"]["points_expiry"].update(en="{points} by {tier.x}"),
            "messages.points_expiry.en: unknown placeholder {tier.x}",
        ),
        (
            lambda d: d["messages"]["tier_regain"].update(zh="满{}元"),
            "messages.tier_regain.zh: unknown placeholder {}",
        ),
        (lambda d: d["messages"]["tier_regain"].update(en="{amount"), "messages.tier_regain.en"),
        (
            lambda d: d["messages"]["points_expiry"].update(zh="{points:q}"),
            "messages.points_expiry.zh: cannot be filled in",
        ),
    ],
)
def test_errors_name_the_key(change: Any, named: str) -> None:
    assert named in _broken(change)


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    with pytest.raises(ProgrammeError, match="cannot be read"):
        load_programme(missing)
    bad = tmp_path / "bad.toml"
    bad.write_text("name_zh = ", encoding="utf-8")
    with pytest.raises(ProgrammeError, match="not valid TOML"):
        load_programme(bad)


def test_programme_is_frozen() -> None:
    p = load_programme(None)
    with pytest.raises(AttributeError):
        p.name_zh = "x"  # type: ignore[misc]


def test_demo_messages_render_in_both_languages() -> None:
    messages = load_programme(None).messages
    assert messages.tier_upgrade.render("zh", tier="金卡") == "恭喜您升级为金卡会员！"
    assert messages.tier_upgrade.render("en", tier="Gold") == (
        "Congratulations: you are now a Gold member."
    )
    assert messages.points_expiry.render(
        "zh", points=80, date="2027-12-31", year=2027, month=12, day=31
    ) == ("您有80积分将于12月31日后到期，记得及时兑换哦。")
    regain = messages.tier_regain.render("zh", tier="金卡", amount=10000, months=12)
    assert regain == "12个月内消费满10000元即可重回金卡。"


def test_unknown_placeholder_in_a_config_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "club.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'en = "Spend {amount} yuan in {months:month|months} to regain {tier}."',
        'en = "Spend {amount} yuan to regain {tier_name}."',
    )
    assert text != EXAMPLE.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError) as caught:
        load_programme(path)
    assert str(caught.value) == (
        f"{path}: messages.tier_regain.en: unknown placeholder {{tier_name}} "
        "(allowed: {amount}, {months}, {tier})"
    )
    path.write_text(text.replace("{tier_name}", "{{tier_name}}"), encoding="utf-8")
    assert (
        load_programme(path).messages.tier_regain.en
        == "Spend {amount} yuan to regain {{tier_name}}."
    )


def test_amount_limits_default_when_the_table_is_left_out() -> None:
    data = demo_data()
    data.pop("limits")
    limits = parse_programme(data).limits
    assert (limits.max_purchase_fen, limits.max_credit_points) == (100_000_000, 100_000)
    assert limits == load_programme(None).limits
    data["limits"] = {"max_credit_points": 500}
    assert parse_programme(data).limits.max_credit_points == 500
    assert parse_programme(data).limits.max_purchase_fen == 100_000_000
