"""Signing in to the staff console: cookie, sessions, CSRF, lock-out, audit, the passwd command."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from club.clock import FixedClock
from club.db.models.staff import AuditLog, StaffUser
from club.staff.passwords import LOCKOUT, MAX_FAILURES
from tests.console.support import (
    PASSWORD,
    Client,
    csrf_of,
    page_token,
    sign_in,
    staff_with_password,
)


async def test_signing_in_sets_a_session_cookie_and_is_audited(console_client: Client) -> None:
    staff_id = await staff_with_password("mia", "marketer")
    resp = await sign_in(console_client, "mia")
    assert resp.status == 303
    assert resp.headers["Location"] == "/console"
    cookie = resp.cookies["clubbot_console"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP, no trusted proxy
    assert cookie["path"] == "/console"
    home = await console_client.get("/console")
    assert home.status == 200
    assert "mia" in await home.text()
    [row] = await AuditLog.filter(action="console.signin")
    assert (row.staff_id, row.status, row.summary["outcome"]) == (staff_id, 200, "ok")


async def test_signed_out_pages_send_the_browser_to_sign_in(console_client: Client) -> None:
    resp = await console_client.get("/console/staff?x=1", allow_redirects=False)
    assert resp.status == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/console/login"
    assert parse_qs(location.query) == {"next": ["/console/staff?x=1"]}
    login = await console_client.get("/console/login")
    assert "员工登录" in await login.text()  # Chinese by default


async def test_a_clerk_starts_at_the_member_search_and_is_refused_admin_pages(
    console_client: Client,
) -> None:
    await staff_with_password("carl", "clerk")
    resp = await sign_in(console_client, "carl")
    assert resp.headers["Location"] == "/console/members"
    staff_page = await console_client.get("/console/staff")
    assert staff_page.status == 403
    assert "店员角色无权" in await staff_page.text()
    dashboard = await console_client.get("/console", allow_redirects=False)
    assert (dashboard.status, dashboard.headers["Location"]) == (303, "/console/members")


async def test_secure_cookie_only_over_https_from_a_trusted_proxy(
    console_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    await staff_with_password("mia", "marketer")
    forwarded = {"X-Forwarded-Proto": "https"}
    # Untrusted: anyone can send the header.
    resp = await sign_in(console_client, "mia", headers=forwarded)
    assert not resp.cookies["clubbot_console"]["secure"]
    from bot.deps import DEPS

    deps = console_client.app[DEPS]
    monkeypatch.setattr(
        deps, "settings", deps.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    )
    resp = await sign_in(console_client, "mia", headers=forwarded)
    assert resp.cookies["clubbot_console"]["secure"]
    resp = await sign_in(console_client, "mia", headers={"X-Forwarded-Proto": "http"})
    assert not resp.cookies["clubbot_console"]["secure"]


async def test_signing_out_ends_the_session_at_once_and_is_audited(
    console_client: Client,
) -> None:
    await staff_with_password("ada", "admin")
    resp = await sign_in(console_client, "ada")
    stolen = resp.cookies["clubbot_console"].value
    token = await page_token(console_client, "/console/staff")
    out = await console_client.post(
        "/console/logout", data={"csrf_token": token}, allow_redirects=False
    )
    assert (out.status, out.headers["Location"]) == (303, "/console/login")
    # The old cookie, replayed, opens nothing: the session is gone from the store.
    console_client.session.cookie_jar.update_cookies({"clubbot_console": stolen})
    again = await console_client.get("/console/staff", allow_redirects=False)
    assert again.status == 303
    assert [r.action for r in await AuditLog.all().order_by("id")] == [
        "console.signin",
        "console.signout",
    ]


async def test_a_new_password_ends_the_accounts_open_sessions(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    mias = console_client.session.cookie_jar.filter_cookies(console_client.make_url("/console"))
    mia_cookie = mias["clubbot_console"].value
    console_client.session.cookie_jar.clear()
    await sign_in(console_client, "ada")
    token = await page_token(console_client, "/console/staff")
    resp = await console_client.post(
        "/console/staff/password",
        data={"csrf_token": token, "name": "mia", "password": "a brand new secret"},
    )
    assert resp.status == 200
    assert "已为 mia 设置新密码" in await resp.text()
    [row] = await AuditLog.filter(action="staff.password")
    assert row.summary == {"via": "console", "name": "mia"}
    assert "a brand new secret" not in str(row.summary)
    console_client.session.cookie_jar.clear()
    console_client.session.cookie_jar.update_cookies({"clubbot_console": mia_cookie})
    assert (await console_client.get("/console", allow_redirects=False)).status == 303
    assert (await sign_in(console_client, "mia", "a brand new secret")).status == 303


async def test_a_short_password_is_refused_and_changes_nothing(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    before = (await StaffUser.get(name="ada")).password_hash
    await sign_in(console_client, "ada")
    token = await page_token(console_client, "/console/staff")
    resp = await console_client.post(
        "/console/staff/password", data={"csrf_token": token, "name": "ada", "password": "short"}
    )
    assert resp.status == 422
    assert "10-128" in await resp.text()
    assert (await StaffUser.get(name="ada")).password_hash == before


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    console_client: Client,
) -> None:
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    before = (await StaffUser.get(name="ada")).password_hash
    for data in (
        {"name": "ada", "password": "another long one"},
        {"csrf_token": "forged", "name": "ada", "password": "another long one"},
    ):
        resp = await console_client.post("/console/staff/password", data=data)
        assert resp.status == 403
        assert "安全令牌" in await resp.text()
    assert (await StaffUser.get(name="ada")).password_hash == before
    # Sign-out is a form too.
    resp = await console_client.post("/console/logout", data={}, allow_redirects=False)
    assert resp.status == 403
    assert (await console_client.get("/console/staff")).status == 200


async def test_the_sign_in_form_needs_its_own_token(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    resp = await console_client.post(
        "/console/login", data={"name": "ada", "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 403
    assert "clubbot_console" not in resp.cookies


async def test_six_wrong_passwords_lock_the_account_for_a_while(
    console_client: Client, clock: FixedClock
) -> None:
    staff_id = await staff_with_password("mia", "marketer")
    for attempt in range(1, MAX_FAILURES):
        resp = await sign_in(console_client, "mia", f"wrong guess {attempt}")
        assert resp.status == 401
        assert "账号或密码不正确" in await resp.text()
    resp = await sign_in(console_client, "mia", "wrong guess 6")
    assert resp.status == 423
    assert "账号已锁定" in await resp.text()
    # Now even the right password is refused, until the lock-out has passed.
    resp = await sign_in(console_client, "mia")
    assert resp.status == 423
    clock.advance(LOCKOUT + timedelta(seconds=1))
    resp = await sign_in(console_client, "mia")
    assert resp.status == 303
    outcomes = [
        (r.status, r.summary["outcome"])
        for r in await AuditLog.filter(action="console.signin", staff_id=staff_id).order_by("id")
    ]
    assert outcomes == [(401, "wrong")] * 5 + [(423, "locked")] * 2 + [(200, "ok")]


async def test_an_unknown_name_and_a_wrong_password_read_the_same(console_client: Client) -> None:
    await staff_with_password("mia", "marketer")
    unknown = await sign_in(console_client, "nobody", PASSWORD)
    wrong = await sign_in(console_client, "mia", "not the password")
    assert unknown.status == wrong.status == 401
    assert csrf_of(await unknown.text())  # the form is shown again


async def test_next_never_leads_off_the_console(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    for target in ("//evil.example/console", "https://evil.example/", "/api/v1/rewards"):
        page = await console_client.get("/console/login")
        token = csrf_of(await page.text())
        resp = await console_client.post(
            "/console/login",
            params={"next": target},
            data={"csrf_token": token, "name": "ada", "password": PASSWORD},
            allow_redirects=False,
        )
        assert resp.headers["Location"] == "/console", target


async def test_english_is_a_switch_away(console_client: Client) -> None:
    resp = await console_client.get("/console/lang/en?next=/console/login")
    assert "Staff sign-in" in await resp.text()
    resp = await console_client.get("/console/lang/zh?next=/console/login")
    assert "员工登录" in await resp.text()


async def test_console_pages_forbid_framing_and_caching(console_client: Client) -> None:
    resp = await console_client.get("/console/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


async def _raw(client: Client, request: bytes) -> bytes:
    """A request exactly as written (cookie bytes no client library sends); the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(request)
    answer = await reader.read()
    writer.close()
    return answer


async def test_a_csrf_token_or_cookie_that_is_not_ascii_is_refused_not_a_500(
    console_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by hand: `hmac.compare_digest` raises TypeError on text that is not ASCII, and a
    # pre-session cookie of undecodable bytes was written back into the form, which could not
    # be encoded: each a 500 with a traceback. Our tokens are ASCII; anything else is refused.
    caplog.set_level(logging.INFO)
    await staff_with_password("ada", "admin")
    await console_client.get("/console/login")  # the form's own cookie, a good one
    for token in ("é" * 43, "forged\u0661"):
        resp = await console_client.post(
            "/console/login",
            data={"csrf_token": token, "name": "ada", "password": PASSWORD},
            allow_redirects=False,
        )
        assert resp.status == 403
    for cookie, sent in ((b"\xc3\xa9", b"%C3%A9"), (b"\xff\xfe", b"%FF%FE")):
        body = b"csrf_token=" + sent + b"&name=ada&password=" + PASSWORD.encode()
        answer = await _raw(
            console_client,
            b"POST /console/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Cookie: clubbot_console_pre=" + cookie + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
        )
        assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
        answer = await _raw(
            console_client,
            b"GET /console/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Cookie: clubbot_console_pre=" + cookie + b"\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        assert csrf_of(answer.decode()).isascii()  # a new token of ours, not the cookie's
    await sign_in(console_client, "ada")
    resp = await console_client.post(
        "/console/logout", data={"csrf_token": "é"}, allow_redirects=False
    )
    assert resp.status == 403
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await AuditLog.filter(action="console.signin").count() == 1
