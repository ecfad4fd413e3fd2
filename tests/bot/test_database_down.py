"""With the database out of reach the callback answers 503 and caches nothing, so WeChat's
retry is handled once the database is back; the staff API answers 503 with Retry-After; /readyz
names the database. Nothing restarts: the same app serves again as soon as the database answers.

The database is made unreachable for real: a PostgreSQL URL on a port where nothing listens,
and a proxy in front of the test PostgreSQL that is cut (connections reset, new ones refused)
and restored (`tests.fakes.tcp_proxy`); the shared server itself is never touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.ledger import LedgerEntry, Purchase
from club.db.models.members import FollowEvent, Member
from tests.bot.test_staff_api_support import audit_rows, error_of, joined_member, staff_headers
from tests.conftest import TEST_DB_URL, TOKEN, make_settings
from tests.fakes.tcp_proxy import TcpProxy, free_port
from tests.fixtures.wechat import plain_query, xml
from tests.fixtures.wechat.app import running_app

Client = TestClient[web.Request, web.Application]


def through(port: int) -> str:
    """TEST_DB_URL with its host and port replaced by 127.0.0.1:`port`."""
    parts = urlsplit(TEST_DB_URL)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
async def proxy(pg_only: None) -> AsyncIterator[TcpProxy]:
    target = urlsplit(TEST_DB_URL)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as running:
        yield running


async def send(client: Client, clock: FixedClock, body: str) -> tuple[int, str]:
    now = int(clock.now().timestamp())
    resp = await client.post("/wechat", params=plain_query(TOKEN, now), data=body.encode())
    return resp.status, await resp.text()


async def claims(store: Redis) -> list[bytes]:
    found = [k async for k in store.scan_iter(match=f"{keys.prefix()}:dedup:*")]
    return found + [k async for k in store.scan_iter(match=f"{keys.prefix()}:lock:*")]


def rejected(client: Client, reason: str) -> float:
    return float(client.app[DEPS].metrics.rejected.labels(reason)._value.get())


OURS = ("bot", "club", "handlers", "scheduler", "aiohttp")


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing of ours (nor aiohttp's) logged a traceback: an outage is one line a request.
    (asyncpg's pool logs its reconnection attempts; the log setup makes those one line too,
    see tests/bot/test_logs.py.)"""
    records = [r for r in caplog.records if r.name.split(".")[0] in OURS]
    assert [r.getMessage() for r in records if r.exc_info] == []


async def test_a_message_during_an_outage_gets_503_and_its_retry_is_handled_after(
    proxy: TcpProxy, clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url=through(proxy.port))
    async with running_app(settings, clock, store) as client:
        follow = xml("subscribe.xml")
        await proxy.cut()
        for _ in range(2):  # the first try and WeChat's retry
            assert await send(client, clock, follow) == (503, "database unavailable")
            assert await claims(store) == []  # nothing cached, no lock left behind
        assert rejected(client, "database_unavailable") == 2
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"] == {"database": "error", "store": "ok"}

        await proxy.restore()  # the database is back; the app was not restarted
        status, reply = await send(client, clock, follow)  # WeChat's last retry
        assert status == 200 and "<MsgType><![CDATA[text]]></MsgType>" in reply
        assert "系统开小差" not in reply
        assert await Member.filter(openid="oMember0001").count() == 1
        assert await FollowEvent.all().count() == 1
        assert await send(client, clock, follow) == (200, reply)  # a late retry: the same
        assert await FollowEvent.all().count() == 1
        assert (await client.get("/readyz")).status == 200
    assert "callback refused: the database is unavailable" in caplog.text
    no_tracebacks(caplog)


async def test_the_staff_api_answers_503_with_retry_after_and_the_retry_records_once(
    proxy: TcpProxy, clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url=through(proxy.port))
    async with running_app(settings, clock, store) as client:
        member = await joined_member(tier="taste")
        clerk = (await staff_headers())["clerk"]
        purchase = {"member_id": member.id, "order_id": "DOWN-1", "amount_fen": 50_000}
        await proxy.cut()
        for method, path, body in (
            ("POST", "/api/v1/purchases", purchase),
            ("GET", f"/api/v1/members/{member.id}", None),
        ):
            resp = await client.request(method, path, json=body, headers=clerk)
            error = await error_of(resp, 503)
            assert error["code"] == "database_unavailable"
            assert resp.headers["Retry-After"] == "5"

        await proxy.restore()
        resp = await client.post("/api/v1/purchases", json=purchase, headers=clerk)
        assert resp.status == 200, await resp.text()
        again = await client.post("/api/v1/purchases", json=purchase, headers=clerk)
        assert await again.json() == await resp.json()
        assert await Purchase.all().count() == 1
        assert await LedgerEntry.all().count() == 1
        # The refusal during the outage could not be audited (the audit log is in the
        # database); both answers after it are.
        assert [row.status for row in await audit_rows("purchase.record")] == [200, 200]
    assert "staff API: the database is unavailable" in caplog.text
    no_tracebacks(caplog)


async def test_a_database_that_was_never_reachable(
    pg_only: None, clock: FixedClock, store: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Started while the database is down (nothing listens on its port): every route that
    needs it answers 503; once something answers on that port the same app serves."""
    port = free_port()
    settings = make_settings(database_url=through(port))
    from clubbot.web import create_app

    app = create_app(settings, clock=clock, store=store, create_schema=False)
    async with TestClient(TestServer(app)) as client:
        assert await send(client, clock, xml("text.xml")) == (503, "database unavailable")
        resp = await client.get("/api/v1/members/1", headers={"Authorization": "Bearer x"})
        assert (await error_of(resp, 503))["code"] == "database_unavailable"
        assert (await client.get("/readyz")).status == 503
        target = urlsplit(TEST_DB_URL)
        async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432, port=port):
            assert (await client.get("/readyz")).status == 200
    no_tracebacks(caplog)


async def test_the_starting_catalogue_is_created_once_the_database_is_back(
    pg_only: None, clock: FixedClock, store: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeding the programme's rewards does not hold the start-up back while the database is
    down; it is retried in the background and done once the database answers."""
    import asyncio

    from bot.staff_api import seeding
    from club.db.connect import database
    from club.db.models.catalog import Reward
    from club.db.testing import clear_all_tables
    from clubbot.web import create_app

    async with database(TEST_DB_URL, create_schema=True):
        await clear_all_tables()
    monkeypatch.setattr(seeding, "RETRY_S", (0.05,))
    port = free_port()
    app = create_app(make_settings(database_url=through(port)), clock=clock, store=store)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/readyz")).status == 503
        target = urlsplit(TEST_DB_URL)
        async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432, port=port):
            for _ in range(100):
                if await Reward.filter(ref__startswith="programme:").count() == 4:
                    break
                await asyncio.sleep(0.05)
            assert await Reward.filter(ref__startswith="programme:").count() == 4
            await clear_all_tables()
