"""What a staff member does in the browser, step by step, as the tests use it."""

from __future__ import annotations

from tests.console.browser.conftest import Console
from tests.console.support import PASSWORD


async def sign_in(c: Console, name: str, password: str = PASSWORD) -> None:
    page = c.page
    await page.goto(c.url("/console/login"))
    await page.get_by_label("员工账号").fill(name)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state()
