"""WeChat's official test vectors, through the real endpoint (and the helper where only it can).

Sources (WeChat's "WXBizMsgCrypt" sample code and documentation):
- C#/C++/PHP sample: token QDG6eK, appid wx5823bf96d3bd56c7, the `jWmYm7...` key, msg_signature
  477715d1... over the `RypEvHKD...` ciphertext (the same account tests/conftest.py uses).
- Python Sample.py: token spamtest, appid wx2c2769f8efd9abc2, key abcdef...ABCDEFG, a
  compatible-mode body (plaintext fields next to Encrypt), msg_signature 5d197aaf...
- Java WXBizMsgCryptTest: token pamtest, appid wxb11529c136998cb6, random prefix
  aaaabbbbccccdddd, the encryption of "我是中文abcd123" and of a video reply.
- Message-push documentation: URL verification with Token "AAAAA".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.kv import Redis
from bot.replies import Reply, TextReply
from bot.router import Context, Router
from bot.wechat.crypto import MessageCrypto
from club.clock import FixedClock
from club.db.models.members import Member
from tests.conftest import AES_KEY, APPID, TOKEN, make_settings
from tests.fixtures.wechat import decrypt, envelope, sign
from tests.fixtures.wechat.app import running_app

# C# / C++ sample (also the WeCom documentation's example).
CS_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
CS_TIMESTAMP = "1409659813"
CS_NONCE = "1372623149"
CS_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUp"
    "j911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue"
    "06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+"
    "3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH"
    "27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8"
    "R07+qN+E7Q=="
)
CS_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
    f"<Encrypt><![CDATA[{CS_ENCRYPT}]]></Encrypt>"
    "<AgentID><![CDATA[218]]></AgentID></xml>"
)
CS_PLAINTEXT = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    b"<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    b"<CreateTime>1409659813</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[hello]]></Content>\n"
    b"<MsgId>4561255354251345929</MsgId>\n"
    b"<AgentID>218</AgentID>\n"
    b"</xml>"
)

# Python Sample.py (compatible mode).
PY_TOKEN, PY_APPID = "spamtest", "wx2c2769f8efd9abc2"
PY_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PY_TIMESTAMP, PY_NONCE = "1409735669", "1320562132"
PY_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
PY_SIGNATURE = "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
PY_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
PY_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>"
    "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId>"
    f"<Encrypt><![CDATA[{PY_ENCRYPT}]]></Encrypt></xml>"
)
PY_PLAINTEXT = (
    b"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    b"<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    b"<CreateTime>1409735668</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[abcdteT]]></Content>\n"
    b"<MsgId>6054768590064713728</MsgId>\n"
    b"</xml>"
)

# Java WXBizMsgCryptTest (encryption with a fixed random prefix).
JAVA_TOKEN, JAVA_APPID, JAVA_PREFIX = "pamtest", "wxb11529c136998cb6", b"aaaabbbbccccdddd"
JAVA_REPLY = "我是中文abcd123"
JAVA_AFTER_ENCRYPT = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)
JAVA_REPLY2 = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName>"
    "<FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime>"
    "<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71"
    "s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Ti"
    "tle><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
)
JAVA_AFTER_ENCRYPT2 = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkup"
    "qcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvF"
    "b3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04s"
    "q7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9Oxch"
    "WVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ"
    "6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57c"
    "ExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)


def clock_at(timestamp: str) -> FixedClock:
    """The vectors are from 2014: a clock a few seconds after their timestamp."""
    return FixedClock(datetime.fromtimestamp(int(timestamp) + 7, tz=UTC))


def field(xml: str, name: str) -> str:
    found = re.search(rf"<{name}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{name}>", xml, re.S)
    assert found, f"{name} missing from {xml}"
    return found.group(1)


def recording_router(seen: list[Context], answer: str) -> Router:
    router = Router("record")

    @router.fallback()
    async def record(ctx: Context) -> Reply | None:
        seen.append(ctx)
        return TextReply(answer)

    return router


def test_helper_decrypts_the_official_ciphertexts_byte_for_byte() -> None:
    cs = MessageCrypto(token=TOKEN, aes_key=AES_KEY, appid=APPID)
    assert cs.decrypt(CS_ENCRYPT) == CS_PLAINTEXT
    py = MessageCrypto(token=PY_TOKEN, aes_key=PY_KEY, appid=PY_APPID)
    assert py.decrypt(PY_ENCRYPT) == PY_PLAINTEXT


def test_helper_encrypts_like_the_official_java_sample() -> None:
    java = MessageCrypto(
        token=JAVA_TOKEN, aes_key=PY_KEY, appid=JAVA_APPID, prefix=lambda: JAVA_PREFIX
    )
    assert java.encrypt(JAVA_REPLY.encode("utf-8")) == JAVA_AFTER_ENCRYPT
    assert java.encrypt(JAVA_REPLY2.encode("utf-8")) == JAVA_AFTER_ENCRYPT2
    assert java.decrypt(JAVA_AFTER_ENCRYPT2) == JAVA_REPLY2.encode("utf-8")


def test_the_official_signatures() -> None:
    assert sign(TOKEN, CS_TIMESTAMP, CS_NONCE, CS_ENCRYPT) == CS_SIGNATURE
    assert sign(PY_TOKEN, PY_TIMESTAMP, PY_NONCE, PY_ENCRYPT) == PY_MSG_SIGNATURE
    assert sign(PY_TOKEN, PY_TIMESTAMP, PY_NONCE) == PY_SIGNATURE


async def test_url_verification_from_the_documentation(store: Redis) -> None:
    settings = make_settings(wechat_token="AAAAA")
    async with running_app(settings, clock_at("1714036504"), store) as client:
        query = {
            "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
            "echostr": "4375120948345356249",
            "timestamp": "1714036504",
            "nonce": "1514711492",
        }
        resp = await client.get("/wechat", params=query)
        assert resp.status == 200
        assert await resp.text() == "4375120948345356249"
        resp = await client.get("/wechat", params={**query, "signature": "f" * 40})
        assert resp.status == 403


async def test_safe_mode_vector_through_the_endpoint(store: Redis) -> None:
    settings = make_settings(wechat_aes_key=AES_KEY)
    clock = clock_at(CS_TIMESTAMP)
    seen: list[Context] = []
    routers = [recording_router(seen, "收到 hello")]
    async with running_app(settings, clock, store, routers=routers) as client:
        params = {
            "msg_signature": CS_SIGNATURE,
            "timestamp": CS_TIMESTAMP,
            "nonce": CS_NONCE,
            "encrypt_type": "aes",
        }
        resp = await client.post("/wechat", params=params, data=CS_BODY.encode())
        assert resp.status == 200
        reply = await resp.text()

        (ctx,) = seen
        assert ctx.message.openid == "mycreate"
        assert ctx.message.account == "wx5823bf96d3bd56c7"
        assert ctx.message.msg_id == 4561255354251345929
        assert ctx.message.content == "hello"
        assert ctx.message.create_time == 1409659813
        assert ctx.message.fields["AgentID"] == "218"
        assert await Member.filter(openid="mycreate").count() == 1

        # The reply is encrypted for our appid and signed over what it carries.
        encrypted = field(reply, "Encrypt")
        timestamp, nonce = field(reply, "TimeStamp"), field(reply, "Nonce")
        assert field(reply, "MsgSignature") == sign(TOKEN, timestamp, nonce, encrypted)
        assert timestamp == str(int(clock.now().timestamp()))
        message, appid = decrypt(AES_KEY, encrypted)
        assert appid == APPID.encode()
        assert (
            message
            == (
                "<xml><ToUserName><![CDATA[mycreate]]></ToUserName>"
                "<FromUserName><![CDATA[wx5823bf96d3bd56c7]]></FromUserName>"
                f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                "<Content><![CDATA[收到 hello]]></Content></xml>"
            ).encode()
        )

        # A flipped signature character: refused, and nothing more was processed.
        bad = {**params, "msg_signature": CS_SIGNATURE[:-1] + "0"}
        resp = await client.post("/wechat", params=bad, data=CS_BODY.encode())
        assert resp.status == 403
        assert len(seen) == 1


async def test_compatible_mode_vector_through_the_endpoint(store: Redis) -> None:
    settings = make_settings(wechat_token=PY_TOKEN, wechat_appid=PY_APPID, wechat_aes_key=PY_KEY)
    seen: list[Context] = []
    routers = [recording_router(seen, "ok")]
    async with running_app(settings, clock_at(PY_TIMESTAMP), store, routers=routers) as client:
        params = {
            "signature": PY_SIGNATURE,
            "timestamp": PY_TIMESTAMP,
            "nonce": PY_NONCE,
            "encrypt_type": "aes",
            "msg_signature": PY_MSG_SIGNATURE,
        }
        resp = await client.post("/wechat", params=params, data=PY_BODY.encode())
        assert resp.status == 200
        reply = await resp.text()
        (ctx,) = seen
        assert (ctx.message.openid, ctx.message.content) == (
            "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
            "abcdteT",
        )
        assert ctx.message.msg_id == 6054768590064713728
        message, appid = decrypt(PY_KEY, field(reply, "Encrypt"))
        assert appid == PY_APPID.encode()
        assert b"<Content><![CDATA[ok]]></Content>" in message

        # The same vector in plaintext mode: the `signature` of the sample is checked too.
        resp = await client.post(
            "/wechat",
            params={"signature": PY_SIGNATURE, "timestamp": PY_TIMESTAMP, "nonce": PY_NONCE},
            data=PY_BODY.encode(),
        )
        assert resp.status == 200  # the retry of MsgId 6054768590064713728: answered from cache
        assert len(seen) == 1


async def test_endpoint_encryption_matches_the_java_vector(store: Redis) -> None:
    """With the sample's key and random prefix pinned, the endpoint's ciphertext starts with the
    official first block and is exactly the sample's algorithm applied to our reply."""
    settings = make_settings(
        wechat_token=JAVA_TOKEN, wechat_appid=JAVA_APPID, wechat_aes_key=PY_KEY
    )
    crypto = MessageCrypto(
        token=JAVA_TOKEN, aes_key=PY_KEY, appid=JAVA_APPID, prefix=lambda: JAVA_PREFIX
    )
    clock = FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    ts = str(int(clock.now().timestamp()))
    inner = (
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
        "<FromUserName><![CDATA[oia2TjjewbmiOUlr6X-1crbLOvLw]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[hello]]></Content><MsgId>6054768590064713999</MsgId></xml>"
    )
    encrypted_in = crypto.encrypt(inner.encode())
    routers = [recording_router([], JAVA_REPLY)]
    async with running_app(settings, clock, store, routers=routers, crypto=crypto) as client:
        params = {
            "timestamp": ts,
            "nonce": "xxxxxx",
            "encrypt_type": "aes",
            "msg_signature": sign(JAVA_TOKEN, ts, "xxxxxx", encrypted_in),
        }
        body = envelope("gh_7f083739789a", encrypted_in)
        resp = await client.post("/wechat", params=params, data=body.encode())
        assert resp.status == 200
        reply = await resp.text()
        encrypted = field(reply, "Encrypt")
        # Same key, same IV, same 16-byte prefix: the first cipher block is the official one.
        assert encrypted[:20] == JAVA_AFTER_ENCRYPT[:20] == JAVA_AFTER_ENCRYPT2[:20]
        expected_reply = (
            "<xml><ToUserName><![CDATA[oia2TjjewbmiOUlr6X-1crbLOvLw]]></ToUserName>"
            "<FromUserName><![CDATA[gh_7f083739789a]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{JAVA_REPLY}]]></Content></xml>"
        ).encode()
        assert encrypted == crypto.encrypt(expected_reply)
        assert decrypt(PY_KEY, encrypted) == (expected_reply, JAVA_APPID.encode())
        stamp, nonce = field(reply, "TimeStamp"), field(reply, "Nonce")
        assert field(reply, "MsgSignature") == sign(JAVA_TOKEN, stamp, nonce, encrypted)
