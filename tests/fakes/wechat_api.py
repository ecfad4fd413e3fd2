"""A local fake of WeChat's API server (aiohttp), for tests of anything that calls WeChat.

    fake = FakeWeChat()
    base = await fake.start()                   # -> "http://127.0.0.1:PORT" (+ prefix)
    settings = make_settings(wechat_api_base=base)
    fake.script("message/custom/send", [45015])             # next answer: errcode 45015
    fake.script("message/custom/send", [Reply(status=502)])  # or any status/body/delay
    fake.script("message/mass/sendall", [Reply(drop=True)])  # the connection drops, no answer
    fake.script("message/mass/sendall", [Reply(act=True, drop=True)])  # the same, WeChat had it
    fake.script("message/template/send", [Reply(until=answer)])  # held until `answer.set()`
    ...
    fake.calls("message/custom/send")[0].body  # what was sent
    await fake.close()

Paths may be given with or without the leading `cgi-bin/`. Scripted answers are used in order,
one per request (before any token check); when a path has none left, it behaves like WeChat:
`stable_token` checks appid/secret and hands out tokens (the same one until `force_refresh`),
every other endpoint refuses an unknown token with 40001 and otherwise answers plausibly (template
msgids, QR tickets, tags with batch limits, mass sends de-duplicated by `clientmsgid`, a menu).

Template messages are de-duplicated by openid + `client_msg_id` only within WeChat's window
(`club.messaging.kinds.CLIENT_MSG_ID_WINDOW`, 10 minutes from the one it delivered), by the
fake's own clock, `now`: real time, or the test's (`fake.now = clock.now`). A resend after the
window is delivered again, so a test whose clock moves sees a second message if the code sends
one too late.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from club.messaging.kinds import CLIENT_MSG_ID_WINDOW

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40032: "invalid openid list size",
    40125: "invalid appsecret",
    40164: "invalid ip, not in whitelist",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45058: "can't modify sys tag",
    45065: "clientmsgid exist",
    46003: "menu no exist",
    48001: "api unauthorized",
}


@dataclass(frozen=True)
class Reply:
    """A scripted answer: HTTP status, body (JSON-able, or str/bytes sent as is), delay."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    act: bool = False
    """WeChat does what it does unscripted (a mass send is taken under its `clientmsgid`),
    and its answer is the body (its own answer when none is given), unless dropped."""
    drop: bool = False
    """The connection is closed after the delay, with no answer: the caller cannot know."""
    until: asyncio.Event | None = None
    """WeChat answers (or drops the connection) only once this is set, after the delay: the call
    stays in WeChat's hands while a test does something meanwhile, for as long as it takes."""


GIVE_UP_S = 2.0
"""Seconds the tests' WeChat client waits for an answer where a test has WeChat answer too late
(`aiohttp.ClientTimeout(total=GIVE_UP_S)`, with `TOO_LATE`). Any other answer must come back well
within it on a loaded machine: given 0.2 s, answers the fake gave at once came back too late at
load 7-10 (a refusal was taken for a call never answered, a mass send was given up before it
reached the fake), and tests saw a timeout nobody had scripted."""

TOO_LATE = Reply(delay=GIVE_UP_S + 0.5)
"""WeChat answers after the client has given up: its timer started before the call reached the
fake, so it runs out first however slow the machine is."""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    """The parsed JSON body (None for GET or a body that is not JSON)."""
    at: float = 0.0
    """When it arrived (`time.monotonic()`): pace tests measure the rate from it."""

    @property
    def access_token(self) -> str | None:
        return self.query.get("access_token")


def errcode(code: int) -> dict[str, Any]:
    return {"errcode": code, "errmsg": ERRMSG.get(code, "error")}


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _norm(path: str) -> str:
    path = path.strip("/")
    return path if path.startswith("cgi-bin/") else f"cgi-bin/{path}"


@dataclass
class _State:
    tokens: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    menu: list[Any] | None = None
    tags: dict[int, str] = field(default_factory=dict)
    tags_made: int = 0
    """Tags ever created: a new tag's id is never a deleted one's (as WeChat's)."""
    tagged: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    clientmsgids: dict[str, int] = field(default_factory=dict)
    """The mass sends taken, each `clientmsgid` with its `msg_id`."""
    template_ids: dict[tuple[str, str], tuple[int, datetime]] = field(default_factory=dict)
    """The templates delivered by openid + `client_msg_id`: their msgid, and when."""
    delivered: list[tuple[str, str]] = field(default_factory=list)


class FakeWeChat:
    def __init__(
        self,
        *,
        appid: str = "wx5823bf96d3bd56c7",
        secret: str = "test-secret",  # noqa: S107 - the test settings' value
        prefix: str = "",
        token_ttl: int = 7200,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.now: Callable[[], datetime] = now or _wall_clock
        """WeChat's clock (how long it remembers a template's `client_msg_id`): settable, so
        that a test moves it with its own (`fake.now = clock.now`)."""
        self.appid = appid
        self.secret = secret
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.token_ttl = token_ttl
        self.stray: list[str] = []
        """Requests that missed the prefix (a client not honouring the base URL)."""
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._calls: list[Call] = []
        self._state = _State()
        self._ids = itertools.count(1000)
        self._server: TestServer | None = None
        self._answering = 0
        """Calls being answered now (a late answer goes on after the client has given up)."""

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, port: int | None = None, host: str = "127.0.0.1") -> str:
        """Listen (on `port`, or any free one, of `host`); the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        # No access log: it would print the tokens of the query strings (the fake is "WeChat").
        self._server = (
            TestServer(app, host=host) if port is None else TestServer(app, host=host, port=port)
        )
        await self._server.start_server(access_log=None)
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("call start() first")
        return str(self._server.make_url(self.prefix or "/")).rstrip("/")

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeWeChat:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- scripting and inspection ------------------------------------------------------

    def script(self, path: str, responses: Iterable[Reply | Mapping[str, Any] | int]) -> None:
        """Queue answers for `path`: a Reply, a JSON object, or an errcode (int)."""
        queue = self._scripts[_norm(path)]
        for item in responses:
            if isinstance(item, Reply):
                queue.append(item)
            elif isinstance(item, int):
                queue.append(Reply(body=errcode(item)))
            else:
                queue.append(Reply(body=dict(item)))

    def slow(self, path: str, seconds: float) -> None:
        """Delay every default (unscripted) answer of `path`: makes races and timeouts real."""
        self._delays[_norm(path)] = seconds

    def calls(self, path: str | None = None) -> list[Call]:
        if path is None:
            return list(self._calls)
        wanted = _norm(path)
        return [c for c in self._calls if c.path == wanted]

    def count(self, path: str) -> int:
        return len(self.calls(path))

    async def answered(self, within: float = 30.0) -> None:
        """Wait until every call the fake got has had its answer (or its connection dropped):
        one the client gave up on is answered after the client has moved on."""
        deadline = time.monotonic() + within
        while self._answering:
            assert time.monotonic() < deadline, f"{self._answering} call(s) still unanswered"
            await asyncio.sleep(0.01)

    @property
    def tokens_issued(self) -> list[str]:
        return list(self._state.tokens)

    def expire_tokens(self) -> None:
        """Make every token handed out so far invalid (WeChat-side expiry or revocation)."""
        self._state.valid.clear()

    def tagged(self, tag_id: int) -> set[str]:
        return set(self._state.tagged[tag_id])

    @property
    def tags(self) -> dict[int, str]:
        return dict(self._state.tags)

    @property
    def mass_sends(self) -> set[str]:
        """The `clientmsgid`s of the mass sends WeChat took (each once: a repeat is 45065)."""
        return set(self._state.clientmsgids)

    def mass_msg_id(self, clientmsgid: str) -> int:
        """The `msg_id` WeChat gave the mass send it took under `clientmsgid`."""
        return self._state.clientmsgids[clientmsgid]

    def delivered(self, channel: str) -> list[str]:
        """The openids WeChat delivered messages to, by `custom` or `template`, in order: a
        template sent again with the same `client_msg_id` within WeChat's 10 minutes (by `now`)
        is delivered once, after them again; refused sends are not delivered."""
        return [openid for kind, openid in self._state.delivered if kind == channel]

    # --- the server --------------------------------------------------------------------

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self._answering += 1
        try:
            return await self._handle(request)
        finally:
            self._answering -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.path
        if self.prefix and not raw_path.startswith(self.prefix + "/"):
            self.stray.append(raw_path)
            return web.Response(status=404, text="not under the API base")
        path = _norm(raw_path[len(self.prefix) :])
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._calls.append(Call(request.method, path, dict(request.query), body, time.monotonic()))
        queue = self._scripts.get(path)
        if queue:
            reply = queue.popleft()
            if reply.act:
                acted = self._default(path, request.query, body)
                reply = dataclasses.replace(reply, body=reply.body or acted)
        else:
            await asyncio.sleep(self._delays.get(path, 0.0))
            reply = Reply(body=self._default(path, request.query, body))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.until is not None:
            await reply.until.wait()
        if reply.drop and request.transport is not None:
            request.transport.abort()  # the client sees the connection dropped, no answer
        if isinstance(reply.body, (str, bytes)):
            return web.Response(status=reply.status, body=reply.body, content_type="text/plain")
        return web.json_response(reply.body if reply.body is not None else {}, status=reply.status)

    def _default(self, path: str, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        if path == "cgi-bin/stable_token":
            return self._stable_token(body)
        if query.get("access_token") not in self._state.valid:
            return errcode(40001)
        name = path.removeprefix("cgi-bin/")
        handler = getattr(self, "_ep_" + name.replace("/", "_"), None)
        if handler is None:
            return errcode(0) | {"errmsg": "ok"}
        result: dict[str, Any] = handler(query, body)
        return result

    def _stable_token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential" or body.get("appid") != self.appid:
            return errcode(40013)
        if body.get("secret") != self.secret:
            return errcode(40125)
        state = self._state
        if body.get("force_refresh") or not state.valid:
            token = f"ACCESS_TOKEN_{len(state.tokens) + 1}"
            state.tokens.append(token)
            state.valid = {token}  # force_refresh invalidates the previous token
        return {"access_token": state.tokens[-1], "expires_in": self.token_ttl}

    # Default endpoint behaviour (used when nothing is scripted).

    def _ok(self, **extra: Any) -> dict[str, Any]:
        return {"errcode": 0, "errmsg": "ok", **extra}

    def _ep_message_custom_send(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        if not b.get("touser"):
            return errcode(40003)
        self._state.delivered.append(("custom", str(b["touser"])))
        return self._ok()

    def _ep_message_template_send(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        touser = b.get("touser")
        if not touser:
            return errcode(40003)
        key = (str(touser), str(b.get("client_msg_id") or ""))
        now = self.now()
        seen = self._state.template_ids.get(key) if key[1] else None
        if seen is not None and now - seen[1] < CLIENT_MSG_ID_WINDOW:
            return self._ok(msgid=seen[0])  # the one it delivered: nothing new goes
        msgid = next(self._ids)
        if key[1]:
            self._state.template_ids[key] = (msgid, now)
        self._state.delivered.append(("template", str(touser)))
        return self._ok(msgid=msgid)

    def _ep_message_mass_sendall(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        cid = b.get("clientmsgid")
        if cid and cid in self._state.clientmsgids:
            return errcode(45065) | {"msg_id": self._state.clientmsgids[cid]}  # the one it had
        msg_id = next(self._ids)
        if cid:
            self._state.clientmsgids[cid] = msg_id
        return self._ok(msg_id=msg_id, msg_data_id=next(self._ids))

    def _ep_user_info(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        openid = q.get("openid", "")
        tags = sorted(t for t, members in self._state.tagged.items() if openid in members)
        return {
            "subscribe": 1,
            "openid": openid,
            "language": q.get("lang", "zh_CN"),
            "subscribe_time": 1763863200,
            "unionid": f"union-{openid}",
            "remark": "",
            "groupid": 0,
            "tagid_list": tags,
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        }

    def _ep_qrcode_create(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        scene = b.get("action_info", {}).get("scene", {})
        value = scene.get("scene_str", scene.get("scene_id", ""))
        answer: dict[str, Any] = {
            "ticket": f"TICKET_{next(self._ids)}",
            "url": f"http://weixin.qq.com/q/{value}",
        }
        if b.get("action_name") in ("QR_SCENE", "QR_STR_SCENE"):
            answer["expire_seconds"] = int(b.get("expire_seconds", 60))
        return answer

    def _ep_menu_create(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        self._state.menu = list(b.get("button", []))
        return self._ok()

    def _ep_menu_get(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        if self._state.menu is None:
            return errcode(46003)
        return {"menu": {"button": self._state.menu}}

    def _ep_tags_create(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        tag_id = 100 + self._state.tags_made
        self._state.tags_made += 1
        self._state.tags[tag_id] = str(b.get("tag", {}).get("name", ""))
        return {"tag": {"id": tag_id, "name": self._state.tags[tag_id]}}

    def _ep_tags_delete(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        tag_id = int(b.get("tag", {}).get("id", 0))
        if tag_id not in self._state.tags:
            return errcode(45058)
        del self._state.tags[tag_id]
        self._state.tagged.pop(tag_id, None)
        return self._ok()

    def _ep_tags_get(self, q: Mapping[str, str], b: dict[str, Any]) -> dict[str, Any]:
        return {
            "tags": [
                {"id": i, "name": n, "count": len(self._state.tagged[i])}
                for i, n in self._state.tags.items()
            ]
        }

    def _batch(self, b: dict[str, Any], add: bool) -> dict[str, Any]:
        openids = b.get("openid_list") or []
        if not 0 < len(openids) <= 50:
            return errcode(40032)
        members = self._state.tagged[int(b.get("tagid", 0))]
        if add:
            members.update(openids)
        else:
            members.difference_update(openids)
        return self._ok()

    def _ep_tags_members_batchtagging(
        self, q: Mapping[str, str], b: dict[str, Any]
    ) -> dict[str, Any]:
        return self._batch(b, add=True)

    def _ep_tags_members_batchuntagging(
        self, q: Mapping[str, str], b: dict[str, Any]
    ) -> dict[str, Any]:
        return self._batch(b, add=False)
