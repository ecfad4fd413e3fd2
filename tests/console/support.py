"""Helpers for the console's HTTP tests: an app with the console, accounts, signing in."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from club.staff.accounts import create_staff
from club.staff.passwords import set_password
from tests.bot.test_staff_api_support import NOW

Client = TestClient[Any, Any]
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def staff_with_password(name: str, role: str, password: str = PASSWORD) -> int:
    user, _ = await create_staff(name, role, now=NOW)
    await set_password(name, password, now=NOW)
    return user.id


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def sign_in(client: Client, name: str, password: str = PASSWORD, **kw: Any) -> Any:
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    return await client.post(
        "/console/login",
        data={"csrf_token": token, "name": name, "password": password},
        allow_redirects=False,
        **kw,
    )


async def page_token(client: Client, path: str = "/console/members") -> str:
    """The session's CSRF token, as any of its pages carries it (the sign-out form)."""
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_of(await resp.text())
