"""`python -m bot menu install | show` against the fake WeChat API, and the chat answering every
key the menu sends."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.menu_cli import current_menu, install_menu, menu_json, wechat_buttons
from bot.messages import Incoming
from bot.router import Dispatcher
from club.programme import load_programme
from handlers import routers
from tests.conftest import APPID, make_settings
from tests.fakes import FakeWeChat

ROOT = Path(__file__).resolve().parents[2]


async def test_install_puts_the_programme_menu_on_the_account(fake_wechat: FakeWeChat) -> None:
    settings = make_settings(wechat_api_base=fake_wechat.base_url, redis_url=None)
    assert await current_menu(settings) == ()
    sent = await install_menu(settings)
    [call] = fake_wechat.calls("menu/create")
    expected = menu_json(wechat_buttons(load_programme(None).menu))
    assert call.body == expected
    assert call.body["button"][1] == {
        "name": "扫码积分",
        "type": "scancode_waitmsg",
        "key": "SCAN_CAP",
    }
    assert await current_menu(settings) == sent


def test_every_key_of_the_menu_reaches_a_handler() -> None:
    dispatcher = Dispatcher(routers())
    menu = load_programme(None).menu
    for top in menu.buttons:
        for button in (top, *top.sub_buttons):
            if button.type is None:
                continue
            event = "click" if button.type == "click" else button.type
            message = Incoming(
                msg_type="event", openid="o1", account="gh", create_time=1, msg_id=None,
                event=event, event_key=button.key, scan_type="qrcode", scan_result="X",
            )  # fmt: skip
            route = dispatcher.resolve(message, None)
            assert route is not None, button
            assert route.handler.func.__module__ != "handlers.fallback"


async def bot_menu(base: str, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ)
    env.update(
        WECHAT_API_BASE=base, WECHAT_APPID=APPID, WECHAT_SECRET="test-secret",
        WECHAT_TOKEN="t", DATABASE_URL="sqlite://:memory:", REDIS_URL="", LOG_LEVEL="WARNING",
    )  # fmt: skip
    env.pop("CLUB_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "menu", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.slow
async def test_the_menu_command(fake_wechat: FakeWeChat) -> None:
    code, out, err = await bot_menu(fake_wechat.base_url, "show")
    assert (code, out.strip()) == (0, "the account has no menu"), err
    code, out, err = await bot_menu(fake_wechat.base_url, "install")
    assert code == 0, err
    assert out.splitlines()[1:4] == [
        "会员中心",
        "  - 我的积分  click POINTS",
        "  - 会员卡  click CARD",
    ]
    code, out, err = await bot_menu(fake_wechat.base_url, "show")
    assert "扫码积分  scancode_waitmsg SCAN_CAP" in out.splitlines()
    fake_wechat.script("menu/create", [40018])
    code, out, err = await bot_menu(fake_wechat.base_url, "install")
    assert code == 1 and "40018" in err
    assert fake_wechat.count("menu/create") == 2
