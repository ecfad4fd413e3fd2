"""Every kind of clubbot process logs through one setup, at DEBUG too, without a secret, a
token or a whole phone number: the web server, the scheduler, the queue worker and the CLI
commands are run as real processes (on the real PostgreSQL and Redis, as in production) with
secrets and a phone number in play, and their logs are searched.

In play: WeChat's secrets in the environment, the staff token the CLI prints, the access
tokens and the echo string WeChat's traffic carries, signatures in every callback's query
string, a member's phone number in a chat message, a staff API query and WeChat's error
messages, and the AppSecret echoed back by WeChat in an error.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.kv import Redis
from bot.logs import mask_openid
from club.db.models.members import Member, MemberStatus
from tests.conftest import TEST_DB_URL, TEST_REDIS_PREFIX, TEST_REDIS_URL
from tests.fakes.tcp_proxy import free_port
from tests.fakes.wechat_api import FakeWeChat, Reply
from tests.fixtures.wechat import aes_query, encrypt, envelope, plain_query, xml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)
APPID = "wxlogs00000000001"
SECRET = "AppSecret-6c1f0e9b2d7a4e83"
TOKEN = "CallbackToken5e0d"
AES_KEY = "Zq8Xw2Vn4Lp6Rt0Ys3Ku5Jm7Hb9Gd1Fc2Ea4Wo6Qi8S"
PHONE = "13912345678"
MASKED_PHONE = "139****5678"
OPENID = "oLogsMember00000000000000001"


def daytime_zone() -> str:
    """A time zone where it is day now: messages wait out the quiet hours (21:00-09:00)."""
    zones = ("Asia/Shanghai", "Europe/London", "America/New_York", "America/Los_Angeles")
    return next(z for z in zones if 10 <= datetime.now(ZoneInfo(z)).hour < 19)


PROCESS_PREFIX = f"{TEST_REDIS_PREFIX}-logs"
"""The Redis prefix of this test's processes: their own, so that no process another test of the
session may have left running (a queue worker reading the session's stream, a scheduler holding
a job's lock) can take this test's messages or its birthday run: seen twice in full runs, as a
`birthday ...: busy` and as a greeting that never reached this test's fake WeChat."""


def environment(api_base: str, port: int) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("CLUB_", "WECHAT_", "PORT"))}
    values.update(
        DATABASE_URL=TEST_DB_URL,
        REDIS_URL=TEST_REDIS_URL or "",
        REDIS_PREFIX=PROCESS_PREFIX,
        WECHAT_APPID=APPID,
        WECHAT_SECRET=SECRET,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_API_BASE=api_base,
        WECHAT_DRY_RUN="false",
        LOG_LEVEL="DEBUG",
        PORT=str(port),
        CLUB_TZ=daytime_zone(),
    )
    return values


async def spawn(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, *, stop: bool = False) -> tuple[str, str]:
    """(stdout, stderr) once the process has ended (stopped with SIGTERM if `stop`)."""
    if stop:
        proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return out.decode(), err.decode()


async def logged(proc: asyncio.subprocess.Process, marker: str, *, seconds: float = 60.0) -> str:
    """What `proc` wrote to stderr up to the first line holding `marker`. Stopped before its
    signal handlers are set (a fixed 3 s was not always enough on a loaded machine), a process
    dies of the SIGTERM without a line; after them it finishes what it is doing first."""
    stream = proc.stderr
    assert stream is not None
    lines: list[str] = []

    async def read() -> None:
        while line := (await stream.readline()).decode():
            lines.append(line)
            if marker in line:
                return
        raise AssertionError(f"ended without logging {marker!r}: {''.join(lines)}")

    try:
        await asyncio.wait_for(read(), seconds)
    except (TimeoutError, AssertionError) as exc:
        proc.kill()  # not left running after the test
        await proc.wait()
        if isinstance(exc, AssertionError):
            raise
        raise AssertionError(f"{marker!r} not logged in {seconds} s: {''.join(lines)}") from None
    return "".join(lines)


async def until(check: object, what: str, *, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def talk_to_the_web_server(port: int, staff_token: str) -> None:
    """What WeChat and a clerk would send: URL check, a plaintext and an encrypted message
    carrying the phone, and a staff query with it."""
    base = f"http://127.0.0.1:{port}"
    now = int(datetime.now(TZ).timestamp())
    async with aiohttp.ClientSession() as http:

        async def up() -> bool:
            try:
                async with http.get(f"{base}/healthz") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await until(up, "the web server")
        check = {**plain_query(TOKEN, now), "echostr": "EchoStr8815560923"}
        async with http.get(f"{base}/wechat", params=check) as resp:
            assert await resp.text() == "EchoStr8815560923"
        text = xml("text.xml", **{"帮助": PHONE, "oMember0001": OPENID})
        async with http.post(f"{base}/wechat", params=plain_query(TOKEN, now), data=text) as resp:
            assert resp.status == 200
        encrypted = encrypt(AES_KEY, APPID, text.replace("24571001001", "24571001002"))
        safe = aes_query(TOKEN, now, encrypted)
        async with http.post(f"{base}/wechat", params=safe, data=envelope("gh", encrypted)) as resp:
            assert resp.status == 200
        query = urlencode({"openid": PHONE})
        headers = {"Authorization": f"Bearer {staff_token}"}
        async with http.get(f"{base}/api/v1/members?{query}", headers=headers) as resp:
            assert resp.status in (200, 404)


@pytest.fixture
async def process_keys(store: Redis) -> AsyncIterator[None]:
    """The processes' keys (`PROCESS_PREFIX`) deleted before and after the test."""

    async def forget() -> None:
        async for key in store.scan_iter(match=f"{PROCESS_PREFIX}:*", count=1000):
            await store.unlink(key)

    await forget()
    yield
    await forget()


async def test_every_process_kind_logs_nothing_secret_at_debug(
    pg_only: None, redis_only: None, db: None, process_keys: None
) -> None:
    logs: dict[str, str] = {}
    async with FakeWeChat(appid=APPID, secret=SECRET) as fake:
        # WeChat's error messages may echo what we sent: here a phone number and our secret,
        # in a "system busy" that the worker retries (and logs).
        busy = {"errcode": -1, "errmsg": f"system busy: {PHONE} {SECRET}"}
        fake.script("message/custom/send", [Reply(body=busy)])
        port = free_port()
        env = environment(fake.base_url, port)

        # CLI: a staff account (its token goes to stdout once, never to the log).
        out, logs["cli staff add"] = await finish(
            await spawn(env, "-m", "bot", "staff", "add", "clerk-logs", "--role", "clerk")
        )
        staff_token = out.strip().splitlines()[-1]
        assert len(staff_token) > 20

        # Web server.
        web = await spawn(env, "-m", "bot")
        try:
            await talk_to_the_web_server(port, staff_token)
        finally:
            _, logs["web"] = await finish(web, stop=True)

        # Scheduler (its start-up catch-up runs), then a birthday run from the CLI, sent by a
        # queue worker through the fake WeChat.
        scheduler = await spawn(env, "-m", "scheduler")
        started = await logged(scheduler, "catch-up: birthday")
        _, rest = await finish(scheduler, stop=True)
        logs["scheduler"] = started + rest

        now = datetime(2026, 11, 1, tzinfo=TZ)
        # The chat above made the member's row (first contact); now they have joined.
        await Member.filter(openid=OPENID).update(
            phone=PHONE,
            status=MemberStatus.ACTIVE,
            consent_at=now,
            joined_at=now,
            tier="taste",
            birthday_mmdd=1123,
            last_message_at=datetime.now(TZ),
            last_interaction_at=datetime.now(TZ),
        )
        out, logs["cli scheduler run"] = await finish(
            await spawn(env, "-m", "scheduler", "run", "birthday", "--date", DAY.isoformat())
        )
        assert "birthday 2026-11-23: done" in out

        worker = await spawn(env, "-m", "scheduler", "worker")
        try:

            async def sent() -> bool:
                return len(fake.calls("message/custom/send")) >= 2  # the busy one, the retry

            await until(sent, "the worker's send", seconds=60.0)
            await asyncio.sleep(1)
        finally:
            _, logs["worker"] = await finish(worker, stop=True)
        issued = list(fake.tokens_issued)

    assert issued, "the worker fetched an access token"
    never = [SECRET, TOKEN, AES_KEY, PHONE, staff_token, "EchoStr8815560923", *issued]
    for kind, text in logs.items():
        assert text.strip(), f"{kind} logged nothing"
        for line in text.strip().splitlines():
            assert line.startswith("ts="), f"{kind}: not our format: {line[:200]}"
        found = [value for value in never if value in text]
        assert found == [], f"{kind} logged {found}"
        # Signatures of the callbacks are masked wherever a query string is printed.
        assert not re.search(r"[?&](msg_)?signature=[0-9a-f]{40}", text), kind
    # DEBUG was on: the web server wrote its access log, the others their DEBUG lines.
    assert "logger=aiohttp.access" in logs["web"]
    assert "level=DEBUG" in logs["worker"] and "level=DEBUG" in logs["scheduler"]
    assert "signature=***" in logs["web"] and "echostr=***" in logs["web"]
    # The phone given as the staff query's openid: masked as a phone, then shortened as an openid.
    assert f"openid={mask_openid(MASKED_PHONE)}" in logs["web"]
    assert MASKED_PHONE in logs["worker"]
