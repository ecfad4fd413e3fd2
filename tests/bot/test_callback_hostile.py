"""Hostile bodies that once reached the handlers or the parser's recursion: XML nested deeper
than WeChat ever nests, and numbers larger than a 64-bit column holds. Each is a 400 `malformed`
with one INFO line, never an apology, never an ERROR, and nothing is processed."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.clock import FixedClock
from club.db.models.members import FollowEvent, Member
from tests.conftest import AES_KEY, APPID, TOKEN, make_settings
from tests.fixtures.wechat import aes_query, encrypt, envelope, plain_query, xml
from tests.fixtures.wechat.app import running_app


@dataclass
class Harness:
    client: TestClient[web.Request, web.Application]
    clock: FixedClock
    store: Redis
    handled: list[str]

    @property
    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def rejected(self, reason: str) -> float:
        return float(self.client.app[DEPS].metrics.rejected.labels(reason)._value.get())

    async def nothing_processed(self) -> None:
        assert self.handled == []
        assert await Member.all().count() == 0
        assert await FollowEvent.all().count() == 0
        assert [k async for k in self.store.scan_iter(match=f"{keys.prefix()}:dedup:*")] == []


@pytest.fixture
async def harness(clock: FixedClock, store: Redis) -> AsyncIterator[Harness]:
    handled: list[str] = []
    router = Router("spy")

    @router.fallback()
    @router.event("subscribe")
    async def spy(ctx: Context) -> Reply | None:
        handled.append(ctx.message.openid)
        return TextReply("handled")

    settings = make_settings(wechat_aes_key=AES_KEY)
    async with running_app(settings, clock, store, routers=[router]) as client:
        yield Harness(client, clock, store, handled)


def nested(depth: int) -> str:
    """A text message with one field nested `depth` elements deep."""
    return xml("text.xml").replace("</xml>", "<a>" * depth + "x" + "</a>" * depth + "</xml>")


def with_field(name: str, value: str, fixture: str = "subscribe.xml") -> str:
    text = xml(fixture)
    start = text.index(f"<{name}>")
    end = text.index(f"</{name}>") + len(f"</{name}>")
    return text[:start] + f"<{name}>{value}</{name}>" + text[end:]


CASES = {
    # About 9,000 levels fit in 64 KiB; Python's recursion limit is 1,000.
    "XML nested 9,000 deep": nested(9_000),
    "XML nested 1,100 deep": nested(1_100),
    "XML nested 9 deep": nested(9),
    "event CreateTime 2^63": with_field("CreateTime", str(2**63)),
    "event CreateTime 2^64 - 1": with_field("CreateTime", str(2**64 - 1)),
    "MsgId 2^63": with_field("MsgId", str(2**63), "text.xml"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_refused_as_malformed_without_an_error(
    harness: Harness, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = CASES[case].encode()
    assert len(body) <= 64 * 1024
    resp = await harness.client.post(
        "/wechat", params=plain_query(TOKEN, harness.now), data=io.BytesIO(body)
    )
    assert (resp.status, await resp.text()) == (400, "malformed")
    assert harness.rejected("malformed") == 1
    await harness.nothing_processed()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)


async def test_nested_too_deep_inside_an_encrypted_message(harness: Harness) -> None:
    encrypted = encrypt(AES_KEY, APPID, nested(2_000))
    resp = await harness.client.post(
        "/wechat",
        params=aes_query(TOKEN, harness.now, encrypted),
        data=io.BytesIO(envelope("gh", encrypted).encode()),
    )
    assert (resp.status, await resp.text()) == (400, "malformed")
    await harness.nothing_processed()


async def test_the_largest_numbers_that_fit_are_handled(harness: Harness) -> None:
    """The control: WeChat's nesting depth, and 2^63 - 1 in both number fields, still work."""
    body = with_field("MsgId", str(2**63 - 1), "text.xml").replace(
        "</xml>",
        "<SendPicsInfo><PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList>"
        "</SendPicsInfo></xml>",
    )
    resp = await harness.client.post(
        "/wechat", params=plain_query(TOKEN, harness.now), data=body.encode()
    )
    assert resp.status == 200 and "handled" in await resp.text()
    body = with_field("CreateTime", str(2**63 - 1))
    resp = await harness.client.post(
        "/wechat", params=plain_query(TOKEN, harness.now), data=body.encode()
    )
    assert resp.status == 200 and "handled" in await resp.text()
    assert harness.handled == ["oMember0001", "oMember0001"]
