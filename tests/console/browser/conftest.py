"""A real console server on localhost and Debian's Chromium driven by Playwright.

Run on the PostgreSQL + Redis pass (CI's second pass); skipped on the embedded SQLite pass. The
browser is the system's (`apt-get install chromium fonts-wqy-microhei`, done by .ci/run):
Playwright cannot download its own here. Screenshots of every page go to
`test-output/console/` (or $CLUBBOT_TEST_OUTPUT/console/) for a person to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.kv import Redis
from club.clock import FixedClock
from club.db.testing import clear_all_tables
from clubbot.web import create_app
from config import Settings
from tests.conftest import ON_POSTGRES

CHROMIUM = "/usr/bin/chromium"
# As measured on this kind of machine: without the networking flags Chromium keeps trying to
# reach Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(os.environ.get("CLUBBOT_TEST_OUTPUT", Path(__file__).parents[3] / "test-output"))


@pytest.fixture
def browser_pass() -> None:
    if not ON_POSTGRES:
        pytest.skip("browser tests run on the PostgreSQL pass (CLUBBOT_TEST_DATABASE_URL)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-wqy-microhei")


@dataclass
class Console:
    """The running server and a browser page on it."""

    base: str
    page: Any
    shots: Path
    app: web.Application | None = None
    """The server's app (a test plays the scheduler and workers with its deps)."""

    def url(self, path: str) -> str:
        return self.base + path

    async def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
async def live_console(
    browser_pass: None,
    settings: Settings,
    clock: FixedClock,
    store: Redis,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Console]:
    from playwright.async_api import async_playwright

    app = create_app(settings, clock=clock, store=store, create_schema=True)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    await clear_all_tables()
    shots = OUTPUT / "console" / re.sub(r"\W+", "_", request.node.name)
    shots.mkdir(parents=True, exist_ok=True)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = await browser.new_context(
                viewport={"width": 1280, "height": 860}, locale="zh-CN"
            )
            page = await context.new_page()
            page.set_default_timeout(10_000)
            try:
                yield Console(base=f"http://127.0.0.1:{port}", page=page, shots=shots, app=app)
            finally:
                await context.close()
                await browser.close()
    finally:
        await runner.cleanup()
