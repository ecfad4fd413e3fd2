"""The console's frame: both languages complete, charts served by us, nothing from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from club.db.models.staff import StaffRole
from console import texts
from console.texts import TEXTS
from tests.console.support import Client

CONSOLE = Path(__file__).parents[2] / "console"
KEY_RE = re.compile(r"""_\(\s*["']([a-z0-9_]+)["']\s*[,)]""")
ECHARTS_VERSION = "6.1.0"


def test_every_text_a_page_uses_exists_in_chinese_and_english() -> None:
    used: set[str] = set()
    for source in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("**/*.py")]:
        used |= set(KEY_RE.findall(source.read_text(encoding="utf-8")))
    assert used, "no text keys found: the pattern is wrong"
    used |= {f"role_{role}" for role in StaffRole}  # built from the role: _("role_" ~ role)
    missing = sorted(used - set(TEXTS))
    assert missing == []
    for key, (zh, en) in TEXTS.items():
        assert zh.strip() and en.strip(), key
        # The same placeholders in both languages.
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key


def test_a_key_in_two_text_modules_is_refused_not_one_silently_replaced() -> None:
    # One module per page or area (console/texts/): a key both define would leave one of the
    # two texts unseen, which a single dict literal's linter caught before the split.
    with pytest.raises(ValueError, match="defined in two modules: save"):
        texts._together({"save": ("保存", "Save")}, {"save": ("存储", "Store")})


def test_no_page_loads_anything_from_another_origin() -> None:
    for source in [*CONSOLE.glob("templates/*.html"), CONSOLE / "static" / "console.css"]:
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), source.name
        assert "@import" not in text and "url(http" not in text, source.name


async def test_echarts_is_vendored_with_its_licence_and_served_by_us(
    console_client: Client,
) -> None:
    vendor = CONSOLE / "static" / "vendor" / "echarts"
    assert f"echarts {ECHARTS_VERSION}" in (vendor / "VERSION").read_text()
    assert "Apache License" in (vendor / "LICENSE").read_text()
    resp = await console_client.get("/console/static/vendor/echarts/echarts.min.js")
    assert resp.status == 200
    body = await resp.read()
    assert body == (vendor / "echarts.min.js").read_bytes()
    assert f'"{ECHARTS_VERSION}"'.encode() in body  # the library's own version string
    css = await console_client.get("/console/static/console.css")
    assert css.status == 200 and "@media" in await css.text()
