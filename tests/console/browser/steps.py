"""What a staff member does in the browser, step by step, as the tests use it."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from club.campaigns import tick
from tests.club.campaign_support import work_in_process
from tests.console.browser.conftest import Console
from tests.console.support import PASSWORD


async def sign_in(c: Console, name: str, password: str = PASSWORD) -> None:
    page = c.page
    await page.goto(c.url("/console/login"))
    await page.get_by_label("员工账号").fill(name)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state()


def watch_problems(page: Any) -> list[str]:
    """Script errors and what the security policy refused, as the page reports them."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


async def play_scheduler(deps: Deps) -> None:
    """What the scheduler's tick and the queue workers do, until nothing is left."""
    feed = work_in_process(deps)
    for _ in range(3):
        await tick.tick(deps.campaigns, deps.clock.now())
        await feed.drain()
        await deps.delivery.send_due()
