"""`GET/POST /wechat`: WeChat's URL verification and its messages, in plaintext, compatible and
safe mode.

Everything the request carries is checked before anything is processed: signatures (constant
time), the timestamp against our clock (replays), the body's size and shape, the ciphertext and
the appid inside it. Refusals: 403 for anything that fails authentication (signature, appid,
ciphertext), 400 for anything malformed or stale. Nothing a client sends produces a 500.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from redis.exceptions import RedisError

from bot.conversation import Conversation
from bot.deps import DEPS, Deps
from bot.limits import ClientGone, read_body
from bot.messages import Incoming
from bot.router import Dispatcher, Texts
from bot.unavailable import Part, Unavailable
from bot.wechat.crypto import (
    BadCiphertext,
    MessageCrypto,
    WrongAppId,
    account_crypto,
    signature_matches,
)
from bot.wechat.inbound import MalformedMessage, parse_fields, parse_incoming, text_field
from config import AccountCredentials, Settings

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
CONVERSATION = web.AppKey("conversation", Conversation)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
"""Set before start-up to replace the handlers' routers (tests)."""
ACCOUNT = web.AppKey("wechat_account", AccountCredentials)
"""The Official Account the callback serves (its token signs, its appid is in the envelope)."""
CRYPTO = web.AppKey("wechat_crypto", MessageCrypto)
"""Present when the account has an EncodingAESKey; replaceable before start-up (tests pin the
IV prefix)."""


@dataclass
class Rejected(Exception):
    status: int
    reason: str
    """The metrics label: signature, appid, ciphertext, malformed, stale, too_large, no_key
    (and store_unavailable, database_unavailable, counted by `receive`)."""


@dataclass(frozen=True)
class Verified:
    message: Incoming
    encrypted: bool


def _query_times(request: web.Request) -> tuple[str, str]:
    timestamp = request.query.get("timestamp", "")
    nonce = request.query.get("nonce", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Rejected(400, "malformed")
    if not nonce or len(nonce) > 64:
        raise Rejected(400, "malformed")
    return timestamp, nonce


def _check_clock(deps: Deps, timestamp: str) -> None:
    skew = abs(int(timestamp) - deps.clock.now().timestamp())
    if skew > deps.settings.wechat_max_clock_skew:
        raise Rejected(400, "stale")


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Rejected(400, "too_large")
    try:
        return await read_body(request)  # the app's client_max_size is MAX_BODY
    except web.HTTPRequestEntityTooLarge:
        raise Rejected(400, "too_large") from None


def _account(request: web.Request) -> tuple[AccountCredentials, MessageCrypto | None]:
    """The account a request is for, and its envelope: the one place the callback finds them.
    One account today, the app's; with several, the route (`/wechat/{oa}`) would name it."""
    return request.app[ACCOUNT], request.app.get(CRYPTO)


async def _verify(
    request: web.Request, deps: Deps, account: AccountCredentials, crypto: MessageCrypto | None
) -> Verified:
    timestamp, nonce = _query_times(request)
    body = await _read_body(request)
    token = account.token
    query = request.query
    if query.get("encrypt_type", "raw").lower() != "aes":
        if not signature_matches(query.get("signature", ""), token, timestamp, nonce):
            raise Rejected(403, "signature")
        _check_clock(deps, timestamp)
        return Verified(parse_incoming(body), encrypted=False)
    if crypto is None:
        raise Rejected(400, "no_key")  # an encrypted message, but we have no EncodingAESKey
    encrypt = text_field(parse_fields(body), "Encrypt", required=True) or ""
    if not signature_matches(query.get("msg_signature", ""), token, timestamp, nonce, encrypt):
        raise Rejected(403, "signature")
    if "signature" in query and not signature_matches(query["signature"], token, timestamp, nonce):
        raise Rejected(403, "signature")
    _check_clock(deps, timestamp)
    try:
        inner = crypto.decrypt(encrypt)
    except BadCiphertext:
        raise Rejected(403, "ciphertext") from None
    except WrongAppId:
        raise Rejected(403, "appid") from None
    return Verified(parse_incoming(inner), encrypted=True)


async def receive(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    account, crypto = _account(request)
    try:
        verified = await _verify(request, deps, account, crypto)
    except Rejected as exc:
        return _refuse(deps, exc)
    except MalformedMessage as exc:
        log.info("callback refused: %s", exc)
        return _refuse(deps, Rejected(400, "malformed"))
    except ClientGone:
        raise  # not a refusal: nobody is there to answer (bot.limits logs it)
    except Exception:  # a parser surprise must still be a 400, never a 500
        log.exception("callback refused: unexpected error while reading the request")
        return _refuse(deps, Rejected(400, "malformed"))
    try:
        body = await request.app[CONVERSATION].answer(verified.message)
    except RedisError as exc:  # the store is down: the message was not claimed; WeChat retries
        return _unavailable(deps, "store", type(exc).__name__)
    except Unavailable as exc:  # the handler could not reach it; the claim was given back
        return _unavailable(deps, exc.part, exc.error)
    if body is None:
        return web.Response(text="success")
    if verified.encrypted and crypto is not None:
        timestamp = str(int(deps.clock.now().timestamp()))
        nonce = str(secrets.randbelow(10**10))
        body = crypto.envelope(body, timestamp=timestamp, nonce=nonce).encode("utf-8")
    return web.Response(body=body, content_type="application/xml", charset="utf-8")


def _unavailable(deps: Deps, part: Part, error: str) -> web.Response:
    """503, nothing cached: WeChat retries, and the retry is handled once `part` is back."""
    deps.metrics.rejected.labels(f"{part}_unavailable").inc()
    log.error("callback refused: the %s is unavailable", part, extra={"error": error})
    return web.Response(status=503, text=f"{part} unavailable")


def _refuse(deps: Deps, exc: Rejected) -> web.Response:
    deps.metrics.rejected.labels(exc.reason).inc()
    log.info("callback refused", extra={"reason": exc.reason, "status": exc.status})
    return web.Response(status=exc.status, text=exc.reason)


async def verify_url(request: web.Request) -> web.Response:
    """WeChat's URL check: echo `echostr` if the signature is ours."""
    deps = request.app[DEPS]
    query = request.query
    echostr = query.get("echostr", "")
    try:
        timestamp, nonce = _query_times(request)
    except Rejected as exc:
        return _refuse(deps, exc)
    if not echostr or len(echostr) > 512:
        return _refuse(deps, Rejected(400, "malformed"))
    token = _account(request)[0].token
    if not signature_matches(query.get("signature", ""), token, timestamp, nonce):
        return _refuse(deps, Rejected(403, "signature"))
    return web.Response(text=echostr)


def setup_callback(
    app: web.Application, settings: Settings, *, dispatcher: Dispatcher, texts: Texts
) -> None:
    """Add `GET/POST /wechat` (and, in dry-run, `GET /dev/outbox`) to the app.

    `dispatcher` routes messages to the handlers (a test may replace it with app[DISPATCHER]
    before start-up); `texts` gives the answers the conversation makes itself (busy, error)."""
    account = settings.credentials
    app[ACCOUNT] = account
    crypto = account_crypto(account)
    if crypto is not None:
        app[CRYPTO] = crypto

    async def conversation(app: web.Application) -> AsyncIterator[None]:
        conv = Conversation(app[DEPS], app.get(DISPATCHER) or dispatcher, texts)
        app[CONVERSATION] = conv
        yield
        await conv.drain()  # before the database closes: deferred replies still go out
        await conv.aclose()

    app.cleanup_ctx.append(conversation)
    app.router.add_get("/wechat", verify_url)
    app.router.add_post("/wechat", receive)
    if settings.dry_run:
        from bot.dev_outbox import setup_dev_outbox

        setup_dev_outbox(app)
