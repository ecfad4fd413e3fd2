"""The programme's sections for running the club: the menu (checked against WeChat's rules at
load), the counter, vouchers, the starting catalogue, staff tokens and earning caps."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from club.programme import ProgrammeError, load_programme, parse_programme
from club.programme.demo import DEMO_TOML
from club.rules.menu import CLICK_KEYS


def demo_data() -> dict[str, Any]:
    return tomllib.loads(DEMO_TOML)


def broken(change: Any) -> str:
    data = demo_data()
    change(data)
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(data)
    return str(caught.value)


def test_a_menu_button_name_too_long_for_wechat_is_refused_at_load(tmp_path: Path) -> None:
    # Six Chinese characters are 18 bytes in UTF-8; WeChat takes 16 for a top-level button.
    text = DEMO_TOML.replace('name = "会员中心"', 'name = "会员中心服务"')
    path = tmp_path / "club.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError) as caught:
        load_programme(path)
    assert str(caught.value) == (
        f"{path}: menu[0].name: '会员中心服务' is 18 bytes in UTF-8; WeChat allows 16 for a "
        "top-level button (5 Chinese characters)"
    )
    # A sub-button may have 60 bytes: 20 Chinese characters pass, 21 do not.
    ok = DEMO_TOML.replace('name = "我的积分"', f'name = "{"积" * 20}"')
    assert parse_programme(tomllib.loads(ok)).menu.buttons[0].sub_buttons[0].name == "积" * 20
    too_long = DEMO_TOML.replace('name = "我的积分"', f'name = "{"积" * 21}"')
    with pytest.raises(ProgrammeError, match=r"menu\[0\]\.buttons\[0\]\.name: .* 63 bytes"):
        parse_programme(tomllib.loads(too_long))


def four(d: dict[str, Any]) -> None:
    d["menu"].append({"name": "四", "type": "click", "key": "HELP"})


def six(d: dict[str, Any]) -> None:
    d["menu"][0]["buttons"].extend([{"name": "x", "type": "click", "key": "HELP"}] * 3)


def ftp_view(d: dict[str, Any]) -> None:
    d["menu"][1] = {"name": "官网", "type": "view", "url": "ftp://example.com/"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (four, "menu: 1 to 3 top-level buttons, found 4"),
        (six, "menu[0].buttons: 1 to 5 sub-buttons, found 6"),
        (lambda d: d["menu"][2]["buttons"][0].update(key="LOTTERY"), "menu[2].buttons[0].key"),
        (lambda d: d["menu"][1].update(type="miniprogram"), "menu[1].type: 'miniprogram'"),
        (lambda d: d["menu"][1].update(type="view"), "menu[1].key: a view button"),
        (ftp_view, "menu[1].url: expected an http(s) URL"),
        (lambda d: d["menu"][0].update(type="click"), "menu[0].type: a button with sub-buttons"),
        (lambda d: d["menu"][1].pop("key"), "menu[1].key: missing"),
        (lambda d: d["menu"][0]["buttons"][0].update(colour="red"), "buttons[0].colour: not"),
        (lambda d: d["menu"][1].update(key="K" * 129), "menu[1].key: at most 128 bytes"),
        (lambda d: d["counter"].update(pending_days=0), "counter.pending_days"),
        (lambda d: d["vouchers"].update(refund_on_expiry="yes"), "vouchers.refund_on_expiry"),
        (lambda d: d["rewards"][0].update(min_tier="platinum"), "rewards[0].min_tier"),
        (lambda d: d["rewards"][1].update(key="tasting_glasses"), "rewards[1].key"),
        (lambda d: d["rewards"][0].pop("points_cost"), "rewards[0].points_cost: missing"),
        (lambda d: d["staff"].update(token_days=0), "staff.token_days"),
        (lambda d: d["earning_caps"].update(per_day=100, per_month=50), "earning_caps.per_month"),
        (lambda d: d["earning_caps"].update(per_week=5), "earning_caps.per_week: not"),
    ],
)
def test_errors_name_the_key(change: Any, named: str) -> None:
    assert named in broken(change)


def test_the_sections_are_optional_with_their_defaults() -> None:
    data = demo_data()
    for name in ("menu", "counter", "vouchers", "rewards", "staff", "earning_caps"):
        data.pop(name)
    p = parse_programme(data)
    assert p.menu.buttons == () and p.rewards == ()
    assert (p.counter.pending_days, p.vouchers.valid_days, p.staff.token_days) == (30, 30, 90)
    assert p.vouchers.refund_on_expiry and not p.earning_caps.any


def test_the_demo_menu_uses_every_key_the_chat_answers() -> None:
    menu = load_programme(None).menu
    keys = {b.key for top in menu.buttons for b in (top, *top.sub_buttons) if b.type == "click"}
    assert keys == set(CLICK_KEYS)
    assert [b.type for b in menu.buttons] == [None, "scancode_waitmsg", None]
