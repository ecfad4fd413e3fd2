"""Every bad input: the right status, a metric, and nothing processed (no member, no handler,
no de-duplication entry)."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.deps import DEPS
from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.clock import FixedClock
from club.db.models.members import Member
from tests.conftest import AES_KEY, APPID, TOKEN, make_settings
from tests.fixtures.wechat import (
    aes_query,
    encrypt,
    encrypt_raw,
    envelope,
    plain_query,
    sign,
    xml,
)
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

    async def nothing_processed(self) -> None:
        assert self.handled == []
        assert await Member.all().count() == 0
        assert [k async for k in self.store.scan_iter(match=f"{keys.prefix()}:dedup:*")] == []

    def rejected(self, reason: str) -> float:
        metrics = self.client.app[DEPS].metrics
        return float(metrics.rejected.labels(reason)._value.get())


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


TEXT = xml("text.xml").encode()


async def post(h: Harness, params: dict[str, str], body: bytes | str) -> tuple[int, str]:
    data = body.encode() if isinstance(body, str) else body
    resp = await h.client.post("/wechat", params=params, data=data)
    return resp.status, await resp.text()


async def test_a_good_message_is_processed(harness: Harness) -> None:
    """The control for every case below: the same request, unbroken, is handled."""
    status, text = await post(harness, plain_query(TOKEN, harness.now), TEXT)
    assert status == 200 and "handled" in text
    assert harness.handled == ["oMember0001"]


# --- plaintext mode ---------------------------------------------------------------------------

PLAIN_CASES: dict[str, tuple[Callable[[int], dict[str, str]], bytes, int, str]] = {
    "wrong signature": (
        lambda now: {**plain_query(TOKEN, now), "signature": sign("other", str(now), "1")},
        TEXT,
        403,
        "signature",
    ),
    "no signature": (
        lambda now: {k: v for k, v in plain_query(TOKEN, now).items() if k != "signature"},
        TEXT,
        403,
        "signature",
    ),
    "signature in capitals of another token": (
        lambda now: {
            **plain_query(TOKEN, now),
            "signature": sign("QDG6eL", str(now), "1372623149").upper(),
        },
        TEXT,
        403,
        "signature",
    ),
    "no timestamp": (
        lambda now: {k: v for k, v in plain_query(TOKEN, now).items() if k != "timestamp"},
        TEXT,
        400,
        "malformed",
    ),
    "timestamp not a number": (
        lambda now: {**plain_query(TOKEN, now), "timestamp": "1795399200.5"},
        TEXT,
        400,
        "malformed",
    ),
    "timestamp 301 s late": (lambda now: plain_query(TOKEN, now - 301), TEXT, 400, "stale"),
    "timestamp 301 s ahead": (lambda now: plain_query(TOKEN, now + 301), TEXT, 400, "stale"),
    "empty body": (lambda now: plain_query(TOKEN, now), b"", 400, "malformed"),
    "whitespace body": (lambda now: plain_query(TOKEN, now), b" \n ", 400, "malformed"),
    "malformed XML": (lambda now: plain_query(TOKEN, now), TEXT[:-12], 400, "malformed"),
    "not XML at all": (
        lambda now: plain_query(TOKEN, now),
        b'{"MsgType": "text"}',
        400,
        "malformed",
    ),
    "DOCTYPE with an entity": (
        lambda now: plain_query(TOKEN, now),
        xml("doctype_entity.xml").encode(),
        400,
        "malformed",
    ),
    "bare DOCTYPE": (
        lambda now: plain_query(TOKEN, now),
        xml("doctype_bare.xml").encode(),
        400,
        "malformed",
    ),
    "root is not <xml>": (
        lambda now: plain_query(TOKEN, now),
        TEXT.replace(b"<xml>", b"<msg>").replace(b"</xml>", b"</msg>"),
        400,
        "malformed",
    ),
    "no FromUserName": (
        lambda now: plain_query(TOKEN, now),
        xml("text.xml", **{"<FromUserName><![CDATA[oMember0001]]></FromUserName>": ""}).encode(),
        400,
        "malformed",
    ),
    "two FromUserName": (
        lambda now: plain_query(TOKEN, now),
        xml(
            "text.xml", **{"</FromUserName>": "</FromUserName><FromUserName>oOther</FromUserName>"}
        ).encode(),
        400,
        "malformed",
    ),
    "CreateTime not a number": (
        lambda now: plain_query(TOKEN, now),
        xml(
            "text.xml", **{"<CreateTime>1795399200</CreateTime>": "<CreateTime>soon</CreateTime>"}
        ).encode(),
        400,
        "malformed",
    ),
    "not UTF-8": (
        lambda now: plain_query(TOKEN, now),
        TEXT.replace(b"\xe5", b"\xff"),
        400,
        "malformed",
    ),
    "body over 64 KiB": (
        lambda now: plain_query(TOKEN, now),
        TEXT.replace(b"</xml>", b"<Pad>" + b"x" * (64 * 1024) + b"</Pad></xml>"),
        400,
        "too_large",
    ),
}


@pytest.mark.parametrize("case", list(PLAIN_CASES))
async def test_plaintext_refusals(harness: Harness, case: str) -> None:
    make_params, body, status, reason = PLAIN_CASES[case]
    got, _ = await post(harness, make_params(harness.now), body)
    assert got == status
    assert harness.rejected(reason) == 1
    await harness.nothing_processed()


async def test_a_body_of_exactly_64_kib_is_read(harness: Harness) -> None:
    pad = 64 * 1024 - len(TEXT) - len(b"<Pad></Pad>")
    body = TEXT.replace(b"</xml>", b"<Pad>" + b"x" * pad + b"</Pad></xml>")
    assert len(body) == 64 * 1024
    status, _ = await post(harness, plain_query(TOKEN, harness.now), body)
    assert status == 200
    assert harness.handled == ["oMember0001"]


async def test_a_timestamp_just_inside_the_skew_is_accepted(harness: Harness) -> None:
    harness.clock.advance(timedelta(seconds=300))
    status, _ = await post(harness, plain_query(TOKEN, harness.now - 300), TEXT)
    assert status == 200


# --- safe mode --------------------------------------------------------------------------------


def _frame(message: bytes, appid: bytes, *, length: int | None = None) -> bytes:
    n = len(message) if length is None else length
    frame = b"P" * 16 + struct.pack(">I", n) + message + appid
    pad = 32 - len(frame) % 32
    return frame + bytes([pad]) * pad


def aes_case(
    encrypted: str, *, body: str | None = None, **query: str
) -> Callable[[int], tuple[dict[str, str], bytes]]:
    def build(now: int) -> tuple[dict[str, str], bytes]:
        params = {**aes_query(TOKEN, now, encrypted), **query}
        return params, (
            body if body is not None else envelope("gh_clubbot0001", encrypted)
        ).encode()

    return build


GOOD = encrypt(AES_KEY, APPID, xml("text.xml"))
AES_CASES: dict[str, tuple[Callable[[int], tuple[dict[str, str], bytes]], int, str]] = {
    "wrong msg_signature": (aes_case(GOOD, msg_signature=sign("x", "y")), 403, "signature"),
    "no msg_signature": (aes_case(GOOD, msg_signature=""), 403, "signature"),
    "wrong plain signature next to a good msg_signature": (
        aes_case(GOOD, signature=sign("x")),
        403,
        "signature",
    ),
    "another account's appid": (
        aes_case(encrypt(AES_KEY, "wx0000000000000000", xml("text.xml"))),
        403,
        "appid",
    ),
    "our appid with a suffix": (
        aes_case(encrypt(AES_KEY, APPID + "x", xml("text.xml"))),
        403,
        "appid",
    ),
    "not base64": (aes_case("!!!not-base64!!!"), 403, "ciphertext"),
    "truncated ciphertext": (aes_case(GOOD[:-8]), 403, "ciphertext"),
    "one block only": (aes_case(GOOD[:22] + "=="), 403, "ciphertext"),
    "bad padding": (
        aes_case(
            encrypt_raw(AES_KEY, _frame(xml("text.xml").encode(), APPID.encode())[:-1] + b"\x00")
        ),
        403,
        "ciphertext",
    ),
    "frame length beyond the data": (
        aes_case(encrypt_raw(AES_KEY, _frame(b"<xml/>", APPID.encode(), length=5000))),
        403,
        "ciphertext",
    ),
    "no Encrypt field": (
        aes_case(GOOD, body="<xml><ToUserName>x</ToUserName></xml>"),
        400,
        "malformed",
    ),
    "outer XML malformed": (aes_case(GOOD, body="<xml><Encrypt>"), 400, "malformed"),
    "outer DOCTYPE": (
        aes_case(GOOD, body="<!DOCTYPE xml>" + envelope("gh_clubbot0001", GOOD)),
        400,
        "malformed",
    ),
    "inner XML malformed": (
        aes_case(encrypt(AES_KEY, APPID, xml("text.xml")[:-10])),
        400,
        "malformed",
    ),
    "inner DOCTYPE": (
        aes_case(encrypt(AES_KEY, APPID, xml("doctype_entity.xml"))),
        400,
        "malformed",
    ),
}


@pytest.mark.parametrize("case", list(AES_CASES))
async def test_safe_mode_refusals(harness: Harness, case: str) -> None:
    build, status, reason = AES_CASES[case]
    params, body = build(harness.now)
    got, _ = await post(harness, params, body)
    assert got == status
    assert harness.rejected(reason) == 1
    await harness.nothing_processed()


async def test_safe_mode_stale_timestamp(harness: Harness) -> None:
    params = aes_query(TOKEN, harness.now - 3600, GOOD)
    got, _ = await post(harness, params, envelope("gh_clubbot0001", GOOD))
    assert got == 400
    await harness.nothing_processed()


async def test_safe_mode_control(harness: Harness) -> None:
    got, _ = await post(harness, aes_query(TOKEN, harness.now, GOOD), envelope("gh", GOOD))
    assert got == 200
    assert harness.handled == ["oMember0001"]


async def test_encrypted_message_without_a_key_configured(clock: FixedClock, store: Redis) -> None:
    async with running_app(make_settings(), clock, store) as client:
        now = int(clock.now().timestamp())
        resp = await client.post(
            "/wechat", params=aes_query(TOKEN, now, GOOD), data=envelope("gh", GOOD).encode()
        )
        assert resp.status == 400
        assert await Member.all().count() == 0


async def test_url_verification_refusals(harness: Harness) -> None:
    now = str(harness.now)
    good = {"signature": sign(TOKEN, now, "77"), "timestamp": now, "nonce": "77", "echostr": "e1"}
    resp = await harness.client.get("/wechat", params=good)
    assert (resp.status, await resp.text()) == (200, "e1")
    for broken, status in (
        ({**good, "signature": sign("nope", now, "77")}, 403),
        ({k: v for k, v in good.items() if k != "echostr"}, 400),
        ({k: v for k, v in good.items() if k != "nonce"}, 400),
        ({**good, "timestamp": "abc"}, 400),
    ):
        resp = await harness.client.get("/wechat", params=broken)
        assert resp.status == status
