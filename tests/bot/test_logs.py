"""Log lines: key=value, phone numbers masked, secrets never printed."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.logs import (
    MalformedRequests,
    RedactingFilter,
    Redactor,
    mask_openid,
    mask_phones,
    setup_logging,
)
from config import ConfigError, Settings
from tests.conftest import make_settings

SECRET = "app-secret-4f9a1c"
TOKEN = "callback-token-77"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DB_PASSWORD = "pg-pass-w0rd"


@pytest.fixture
def prod_settings() -> Settings:
    return make_settings(
        wechat_secret=SECRET,
        wechat_token=TOKEN,
        wechat_aes_key=AES_KEY,
        database_url=f"postgres://club:{DB_PASSWORD}@db.internal:5432/club",
        redis_url="redis://:redis-pass-9@cache.internal:6379/0",
        log_level="DEBUG",
    )


@pytest.fixture
def output(prod_settings: Settings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging(prod_settings, stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(False)
        server = logging.getLogger("aiohttp.server")
        for added in [f for f in server.filters if isinstance(f, MalformedRequests)]:
            server.removeFilter(added)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "138****5678"),
        ("call 19987654321 now", "call 199****4321 now"),
        ("phone=15500001111,", "phone=155****1111,"),
        ("two: 13800000000 and 17712345678", "two: 138****0000 and 177****5678"),
        # Not mainland mobiles: second digit 0-2, too short, part of a longer number.
        ("12812345678", "12812345678"),
        ("1381234567", "1381234567"),
        ("order 2138123456789", "order 2138123456789"),
        # With the country code, and written in groups.
        ("+8613812345678", "+86138****5678"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("138-1234-5678.", "138****5678."),
        ("ts 1731234567890", "ts 1731234567890"),
    ],
)
def test_mask_phones(text: str, expected: str) -> None:
    assert mask_phones(text) == expected


def test_a_line_is_key_value_with_extras(output: io.StringIO) -> None:
    logging.getLogger("bot.test").info("member joined", extra={"member_id": 7, "source": "qr"})
    line = output.getvalue().strip()
    assert line.startswith("ts=")
    assert " level=INFO logger=bot.test " in line
    assert ' msg="member joined" member_id=7 source=qr' in line
    assert "\n" not in line


def test_values_with_spaces_quotes_and_newlines_are_quoted(output: io.StringIO) -> None:
    logging.getLogger("bot.test").warning('say "hi"\nthen go', extra={"reason": "a b"})
    line = output.getvalue().strip()
    assert 'msg="say \\"hi\\"\\nthen go" reason="a b"' in line


def test_phone_numbers_are_masked_in_message_args_and_extras(output: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("enrolled with phone %s", "13912345678", extra={"phone": "18600001234"})
    line = output.getvalue()
    assert "13912345678" not in line and "18600001234" not in line
    assert "139****5678" in line and "186****1234" in line


def test_secrets_never_appear(output: io.StringIO, prod_settings: Settings) -> None:
    log = logging.getLogger("bot.test")
    log.info("settings %r", prod_settings)
    log.info("token is %s and secret %s", TOKEN, SECRET)
    log.info("aes %s", AES_KEY, extra={"dsn": prod_settings.database_url})
    log.info("GET https://api.weixin.qq.com/cgi-bin/user/info?access_token=ACC3SS-T0K3N&openid=o1")
    try:
        raise RuntimeError(f"connect failed for redis://:redis-pass-9@cache (secret {SECRET})")
    except RuntimeError:
        log.exception("store down")
    text = output.getvalue()
    for secret in (SECRET, TOKEN, AES_KEY, DB_PASSWORD, "redis-pass-9", "ACC3SS-T0K3N"):
        assert secret not in text
    assert "access_token=***&openid=***" in text
    assert "exc=" in text and "RuntimeError" in text


def test_level_comes_from_settings(prod_settings: Settings) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging(
        prod_settings.model_copy(update={"log_level": "warning"}), stream=stream
    )
    try:
        logging.getLogger("bot.test").info("quiet")
        logging.getLogger("bot.test").warning("loud")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(False)
        server = logging.getLogger("aiohttp.server")
        for added in [f for f in server.filters if isinstance(f, MalformedRequests)]:
            server.removeFilter(added)
    assert "quiet" not in stream.getvalue()
    assert "loud" in stream.getvalue()


def test_setting_up_twice_keeps_one_handler(prod_settings: Settings) -> None:
    root = logging.getLogger()
    level = root.level
    first = setup_logging(prod_settings, stream=io.StringIO())
    second = setup_logging(prod_settings, stream=io.StringIO())
    try:
        assert first not in root.handlers
        assert second in root.handlers
    finally:
        root.removeHandler(second)
        root.setLevel(level)
        logging.captureWarnings(False)


def test_an_unknown_level_is_a_config_error(prod_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        setup_logging(prod_settings.model_copy(update={"log_level": "chatty"}))


def test_the_filter_masks_for_any_handler() -> None:
    record = logging.LogRecord(
        "bot.x", logging.INFO, __file__, 1, "phone %s secret %s", ("13712345678", SECRET), None
    )
    assert RedactingFilter(Redactor([SECRET])).filter(record)
    assert record.getMessage() == "phone 137****5678 secret ***"


def test_short_secrets_are_not_searched_for() -> None:
    # A two-letter demo token would otherwise blank out every occurrence of those letters.
    assert Redactor(["ab"])("abc cab") == "abc cab"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # WeChat's callback query, as the access log prints it at DEBUG.
        (
            "POST /wechat?signature=1f2e3d&timestamp=1795399200&nonce=42"
            "&openid=oMemberabcdefghijklmnopqrs01&encrypt_type=aes&msg_signature=9a8b7c HTTP/1.1",
            "POST /wechat?signature=***&timestamp=1795399200&nonce=42"
            "&openid=oMem***01&encrypt_type=aes&msg_signature=*** HTTP/1.1",
        ),
        ("GET /wechat?echostr=5838479218127813673&x=1", "GET /wechat?echostr=***&x=1"),
        ("/cgi-bin/token?appid=wx1&SECRET=s3cr3t", "/cgi-bin/token?appid=wx1&SECRET=***"),
        ("postgres://club:p%40ss@db:5432/club", "postgres://club:***@db:5432/club"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("Authorization: Bearer Zm9vYmFyYmF6cXV4MTIzNDU2", "Authorization: Bearer ***"),
        # Not credentials: left alone.
        ("the bearer token is not valid", "the bearer token is not valid"),
        ("signature=abc without a query", "signature=abc without a query"),
    ],
)
def test_urls_and_tokens_are_masked(text: str, expected: str) -> None:
    assert Redactor([])(text) == expected


@pytest.mark.parametrize(
    ("openid", "masked"),
    [
        ("oQwErTyUiOp1234567890abcd", "oQwE***cd"),  # WeChat's are 28 long
        ("o1234567x", "o123***7x"),
        ("o1234567", "***"),  # too short to show any of it
        ("short", "***"),
    ],
)
def test_an_openid_is_masked_alike_in_a_query_and_in_an_answer(openid: str, masked: str) -> None:
    # One mask: the log's query strings and what the staff API shows (a test send's `sent_to`).
    assert mask_openid(openid) == masked
    assert Redactor([])(f"GET /x?openid={openid}&y=1") == f"GET /x?openid={masked}&y=1"


def test_a_debug_access_log_line_is_masked(output: io.StringIO) -> None:
    access = logging.getLogger("aiohttp.access")
    access.debug(
        '127.0.0.1 "%s" 200', "GET /api/v1/members?openid=13812345678&signature=abcdef HTTP/1.1"
    )
    line = output.getvalue()
    assert "13812345678" not in line and "abcdef" not in line
    assert "openid=138****78&signature=***" in line


def test_a_pool_reconnection_traceback_is_one_field(output: io.StringIO) -> None:
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    except ConnectionRefusedError:
        logging.getLogger("asyncpg.pool").warning("Failed to restore the pool", exc_info=True)
    line = output.getvalue().strip()
    assert "\n" not in line and "Traceback" not in line and "exc=" not in line
    assert 'error="ConnectionRefusedError: [Errno 111]' in line


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /api/v1/stores/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /wechat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\n",
    ],
)
async def test_a_request_that_is_not_http_is_one_info_line_without_a_traceback(
    output: io.StringIO, client: TestClient[Any, Any], request_head: bytes
) -> None:
    # Found by hand: aiohttp logs a request it cannot parse (bytes not allowed in a path, both
    # Transfer-Encoding and Content-Length, a header over 8 KiB) at ERROR with a traceback; the
    # client's fault, answered 400 by aiohttp, so one INFO line like a client that went away.
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(request_head)
    answer = await reader.read()
    writer.close()
    assert answer.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 ")), answer[:100]
    lines = [line for line in output.getvalue().splitlines() if "logger=aiohttp.server" in line]
    assert len(lines) == 1, output.getvalue()
    assert "level=INFO" in lines[0] and "exc=" not in lines[0] and "Traceback" not in lines[0]
    assert "error=" in lines[0]
