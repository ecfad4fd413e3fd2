"""`python -m bot menu install | show`: the programme's menu on the Official Account.

`install` puts the menu the programme defines (`[[menu]]`, checked at load against WeChat's
rules) on the account through `menu/create`; `--dry-run` prints the JSON it would send instead.
`show` prints what the account has now (`menu/get`). Both speak to WECHAT_API_BASE with the
account's own credentials, through the same client (and shared token) as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.kv import open_store
from bot.metrics import Metrics
from bot.wechat.account import AccountTools, account_tools
from bot.wechat.api import account_client, api_timeout
from bot.wechat.errors import WeChatAPIError
from bot.wechat.types import MenuButton
from club.programme.source import load_programme
from club.rules.menu import Menu
from club.rules.menu import MenuButton as ProgrammeButton
from club.rules.programme import ProgrammeError
from config import ConfigError, Settings


def wechat_buttons(menu: Menu) -> tuple[MenuButton, ...]:
    def convert(b: ProgrammeButton) -> MenuButton:
        return MenuButton(
            name=b.name, type=b.type, key=b.key, url=b.url,
            sub_buttons=tuple(convert(s) for s in b.sub_buttons),
        )  # fmt: skip

    return tuple(convert(b) for b in menu.buttons)


def menu_json(buttons: Sequence[MenuButton]) -> dict[str, Any]:
    return {"button": [b.to_json() for b in buttons]}


def describe(buttons: Sequence[MenuButton]) -> list[str]:
    """The menu as an operator reads it: one line a button, sub-buttons indented."""

    def action(b: MenuButton) -> str:
        if b.url:
            return f"{b.type} {b.url}"
        return f"{b.type} {b.key}" if b.type else ""

    lines: list[str] = []
    for button in buttons:
        lines.append(f"{button.name}  {action(button)}".rstrip())
        lines.extend(f"  - {sub.name}  {action(sub)}" for sub in button.sub_buttons)
    return lines


@asynccontextmanager
async def _account(settings: Settings) -> AsyncIterator[AccountTools]:
    """The command's account (the settings' one; with several, the one `--account` names)."""
    store = open_store(settings)
    try:
        # The client's calls carry the settings' limits (WECHAT_API_*TIMEOUT_SECONDS) anyway;
        # the session has the same, as the server's has (bot.resources).
        async with aiohttp.ClientSession(timeout=api_timeout(settings)) as http:
            yield account_tools(account_client(settings, http=http, store=store, metrics=Metrics()))
    finally:
        await store.aclose()


async def install_menu(settings: Settings) -> tuple[MenuButton, ...]:
    """Put the programme's menu on the account; the buttons sent. ProgrammeError if none."""
    buttons = wechat_buttons(load_programme(settings.club_config).menu)
    if not buttons:
        raise ProgrammeError("the programme defines no menu ([[menu]]): nothing to install")
    async with _account(settings) as account:
        await account.menu.create_menu(buttons)
    return buttons


async def current_menu(settings: Settings) -> tuple[MenuButton, ...]:
    async with _account(settings) as account:
        return await account.menu.get_menu()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot menu", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="put the programme's menu on the account")
    install.add_argument(
        "--dry-run", action="store_true", help="print the JSON menu/create would get, send nothing"
    )
    actions.add_parser("show", help="print the menu the account has now")
    return parser


def main_menu(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        settings = Settings.from_env()
        if args.action == "show":
            buttons = asyncio.run(current_menu(settings))
            print("\n".join(describe(buttons)) if buttons else "the account has no menu")
            return 0
        if args.dry_run:
            menu = wechat_buttons(load_programme(settings.club_config).menu)
            print(json.dumps(menu_json(menu), ensure_ascii=False, indent=2))
            return 0
        buttons = asyncio.run(install_menu(settings))
    except (ConfigError, ProgrammeError) as exc:
        print(f"clubbot: {exc}", file=sys.stderr)
        return 2
    except WeChatAPIError as exc:
        print(f"clubbot: WeChat refused: {exc}", file=sys.stderr)
        return 1
    print("menu installed (WeChat shows it to members within about 5 minutes):")
    print("\n".join(describe(buttons)))
    return 0
