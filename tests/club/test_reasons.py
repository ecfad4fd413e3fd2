"""Ledger reasons: written in Chinese for staff, read back in either language for the member."""

from __future__ import annotations

import pytest

from club.rules import reasons
from club.rules.caps import Cap, Capped
from club.rules.wording import fill, plural

FESTIVALS = {
    "中秋": ("中秋", "Mid-Autumn Festival"),
    "Mid-Autumn Festival": ("中秋", "Mid-Autumn Festival"),
}

CASES = [
    ("welcome", {}, "入会礼", "Welcome bonus"),
    ("purchase", {"order": "A-1001"}, "购买 A-1001", "Purchase A-1001"),
    ("return", {"order": "A-1001"}, "退货 A-1001", "Return A-1001"),
    (
        "counter",
        {"order": "C-7"},
        "门店消费 C-7（入会前）",
        "In-store purchase C-7 (before joining)",
    ),
    (
        "bottle_code",
        {"code": "K7P2-9QX4-M3AB"},
        "瓶盖码 K7P2-9QX4-M3AB",
        "Bottle code K7P2-9QX4-M3AB",
    ),
    ("checkin", {"days": 1}, "签到 连续1天", "Check-in, 1 day in a row"),
    ("checkin", {"days": 3}, "签到 连续3天", "Check-in, 3 days in a row"),
    (
        "checkin_bonus",
        {"days": 7},
        "签到 连续7天 含连续奖励",
        "Check-in, 7 days in a row, with the streak bonus",
    ),
    ("redeem", {"reward": "品鉴酒杯一对"}, "兑换 品鉴酒杯一对", "Redeemed 品鉴酒杯一对"),
    ("redeem_cancelled", {"reward": "酒杯"}, "取消兑换 酒杯", "Redemption cancelled: 酒杯"),
    ("voucher_refund", {"reward": "酒杯"}, "兑换券过期退回 酒杯", "Expired voucher returned: 酒杯"),
    ("expired", {}, "积分过期", "Points expired"),
    ("campaign_bonus", {"campaign": "中秋回馈"}, "活动奖励 中秋回馈", "Campaign bonus: 中秋回馈"),
    ("birthday_gift", {"year": 2026}, "生日礼 2026", "Birthday gift 2026"),
    (
        "festival_gift",
        {"festival": "中秋", "year": 2026},
        "中秋礼 2026",
        "Mid-Autumn Festival gift 2026",
    ),
]


@pytest.mark.parametrize(("form", "values", "zh", "en"), CASES)
def test_every_form_is_stored_in_chinese_and_read_in_either_language(
    form: str, values: dict[str, object], zh: str, en: str
) -> None:
    stored = reasons.write(form, **values)
    assert stored == zh
    assert reasons.shown(stored, "zh", FESTIVALS) == zh
    assert reasons.shown(stored, "en", FESTIVALS) == en


def test_every_form_has_a_case() -> None:
    assert {form for form, *_ in CASES} == set(reasons.FORMS)


def test_a_capped_credit_says_which_cap_in_either_language() -> None:
    stored = Capped(100, Cap.DAY, 150).reason(reasons.write("purchase", order="O-2"))
    assert stored == "购买 O-2（单日积分上限 150）"
    assert reasons.shown(stored, "en") == "Purchase O-2 (daily points limit: 150)"
    assert reasons.shown(stored, "zh") == stored
    checkin = Capped(0, Cap.MONTH, 400).reason(reasons.write("checkin", days=2))
    assert reasons.shown(checkin, "en") == "Check-in, 2 days in a row (monthly points limit: 400)"
    whole = Capped(30).reason("瓶盖码 X")
    assert whole == "瓶盖码 X"


def test_older_english_gift_reasons_read_in_chinese_too() -> None:
    older = "活动奖励 / campaign bonus: 中秋回馈"
    assert reasons.shown(older, "en") == "Campaign bonus: 中秋回馈"
    assert reasons.shown(older, "zh") == "活动奖励 中秋回馈"
    assert reasons.shown("birthday gift 2025", "zh") == "生日礼 2025"
    assert reasons.shown("birthday gift 2025", "en") == "Birthday gift 2025"
    assert reasons.shown("Mid-Autumn Festival gift 2025", "zh", FESTIVALS) == "中秋礼 2025"
    # A festival the programme no longer has: as it was stored.
    assert reasons.shown("Qixi Festival gift 2025", "zh", FESTIVALS) == "Qixi Festival gift 2025"
    assert reasons.shown("七夕礼 2025", "en", FESTIVALS) == "七夕礼 2025"


def test_what_staff_typed_is_shown_as_typed() -> None:
    for typed in ("补发活动积分", "goodwill after a late delivery", "系统补录（单日积分上限 9"):
        assert reasons.shown(typed, "en") == typed
        assert reasons.shown(typed, "zh") == typed


def test_plurals() -> None:
    assert plural(1, "point", "points") == "1 point"
    assert plural(-1, "point", "points") == "-1 point"
    assert plural(0, "point", "points") == "0 points"
    assert fill("{n:day|days} in a row, {p:+d}", {"n": 2, "p": 5}) == "2 days in a row, +5"
    assert fill("{{literal}} {n:code|codes}", {"n": 1}) == "{literal} 1 code"
