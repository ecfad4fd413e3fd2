"""The programme's `[[menu]]`: read and checked at load against WeChat's rules (club.rules.menu),
each error naming its key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from club.programme.sections import only
from club.rules.menu import (
    CLICK_KEYS,
    KEY_BYTES,
    MAX_BUTTONS,
    MAX_SUB_BUTTONS,
    SUB_NAME_BYTES,
    TOP_NAME_BYTES,
    TYPES,
    URL_BYTES,
    Menu,
    MenuButton,
    utf8_bytes,
)
from club.rules.programme import ProgrammeError

if TYPE_CHECKING:
    from club.programme.table import Table as _Table

_KEYS = ("name", "type", "key", "url", "buttons")


def _name(table: _Table, top: bool) -> str:
    name = table.string("name")
    limit = TOP_NAME_BYTES if top else SUB_NAME_BYTES
    size = utf8_bytes(name)
    if size > limit:
        where = "a top-level button" if top else "a sub-button"
        raise ProgrammeError(
            f"{table.key('name')}: {name!r} is {size} bytes in UTF-8; WeChat allows {limit} for "
            f"{where} ({limit // 3} Chinese characters)"
        )
    return name


def _action(table: _Table, name: str) -> MenuButton:
    kind = table.string("type")
    if kind not in TYPES:
        raise ProgrammeError(f"{table.key('type')}: {kind!r} is not one of {', '.join(TYPES)}")
    if kind == "view":
        if "key" in table.data:
            raise ProgrammeError(f"{table.key('key')}: a view button opens its url, it has no key")
        url = table.string("url")
        if not url.startswith(("https://", "http://")) or utf8_bytes(url) > URL_BYTES:
            raise ProgrammeError(
                f"{table.key('url')}: expected an http(s) URL of at most {URL_BYTES} bytes"
            )
        return MenuButton(name, kind, url=url)
    if "url" in table.data:
        raise ProgrammeError(f"{table.key('url')}: only a view button has a url")
    key = table.string("key")
    if utf8_bytes(key) > KEY_BYTES:
        raise ProgrammeError(f"{table.key('key')}: at most {KEY_BYTES} bytes")
    if kind == "click" and key not in CLICK_KEYS:
        raise ProgrammeError(
            f"{table.key('key')}: {key!r} is not a key the chat answers ({', '.join(CLICK_KEYS)})"
        )
    return MenuButton(name, kind, key=key)


def _button(table: _Table, top: bool) -> MenuButton:
    only(table, _KEYS if top else _KEYS[:4], "a menu button setting")
    name = _name(table, top)
    if not (top and "buttons" in table.data):
        return _action(table, name)
    for extra in ("type", "key", "url"):
        if extra in table.data:
            raise ProgrammeError(f"{table.key(extra)}: a button with sub-buttons only opens them")
    subs = table.tables("buttons")
    if not 1 <= len(subs) <= MAX_SUB_BUTTONS:
        raise ProgrammeError(
            f"{table.key('buttons')}: 1 to {MAX_SUB_BUTTONS} sub-buttons, found {len(subs)}"
        )
    return MenuButton(name, sub_buttons=tuple(_button(sub, top=False) for sub in subs))


def menu(root: _Table) -> Menu:
    if "menu" not in root.data:
        return Menu()
    tables = root.tables("menu")
    if not 1 <= len(tables) <= MAX_BUTTONS:
        raise ProgrammeError(f"menu: 1 to {MAX_BUTTONS} top-level buttons, found {len(tables)}")
    return Menu(tuple(_button(table, top=True) for table in tables))
