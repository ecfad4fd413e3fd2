"""The async WeChat API client, on the app's one aiohttp session.

Every URL, the token endpoint included, is built on `settings.wechat_api_base` (regional hosts,
proxies, the fake server in tests). Each call:
- takes the shared access token (`bot.wechat.token`); on 40001/40014/42001 it gets a new one once
  and retries once; a second rejection is raised, never looped on;
- backs off and retries, a bounded number of times, on 45011, -1 and a connection that could
  not be made; on timeouts, dropped connections and 5xx only where sending again cannot repeat
  an effect (`idempotent`: reads, template messages with `client_msg_id`, mass sends with
  `clientmsgid`). A customer-service message after such an error is not retried: WeChat may have
  delivered it, and it has no idempotency key (exponential delay with jitter; the delays and the
  sleep are injectable for tests);
- gives up after the settings' WECHAT_API_CONNECT_TIMEOUT_SECONDS to connect and
  WECHAT_API_TIMEOUT_SECONDS in all (`api_timeout`; a test may pass its own);
- raises the error class that says what happened (`bot.wechat.errors`) for everything else.
Nothing here logs the access token, the secret or a full openid.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.wechat.errors import (
    DuplicateMassSend,
    TokenInvalid,
    TransportError,
    WeChatAPIError,
    error_for,
)
from bot.wechat.token import AccessTokens, FetchedToken
from bot.wechat.types import Article, MassSendResult, MenuButton, QRCode, SendResult, Tag, UserInfo
from club.messaging.sending import TAG_BATCH  # WeChat's limit, one home for the port and us

if TYPE_CHECKING:
    from bot.kv import Redis
    from bot.metrics import Metrics
    from config import AccountCredentials, Settings

log = logging.getLogger(__name__)

MENU_MISSING = 46003
QR_MAX_EXPIRE_S = 30 * 24 * 3600


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    """Further tries after the first, for retryable errors (45011, -1, network, 5xx)."""
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, retry: int) -> float:
        """Exponential back-off with "equal jitter": half fixed, half random."""
        ceiling: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def api_timeout(settings: Settings) -> aiohttp.ClientTimeout:
    """The limits of one WeChat API call: WECHAT_API_TIMEOUT_SECONDS in all, of which
    WECHAT_API_CONNECT_TIMEOUT_SECONDS to connect (10 and 3 unless set)."""
    return aiohttp.ClientTimeout(
        total=settings.wechat_api_timeout_seconds,
        connect=settings.wechat_api_connect_timeout_seconds,
    )


def account_client(
    settings: Settings, *, http: aiohttp.ClientSession, store: Redis, metrics: Metrics
) -> WeChatAPI:
    """The client of the deployment's Official Account (WECHAT_*), for the server and the
    commands: the one place a client's account is chosen. With several accounts, a registry
    builds one per account here, on the same session and store."""
    return WeChatAPI(
        http=http, store=store, settings=settings, credentials=settings.credentials, metrics=metrics
    )


class WeChatAPI:
    """The client of one Official Account: `credentials` say which (its appid keys the shared
    token, its secret fetches it); `settings` give the API base and the timeouts."""

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        store: Redis,
        settings: Settings,
        credentials: AccountCredentials,
        metrics: Metrics,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._metrics = metrics
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._timeout = timeout or api_timeout(settings)
        self._base = settings.wechat_api_base.rstrip("/")
        self.tokens = AccessTokens(
            store=store,
            appid=credentials.appid,
            fetch=self._fetch_token,
            # The refresh is held, and waited for, as long as its call to WeChat may take.
            call_limit_s=self._timeout.total or settings.wechat_api_timeout_seconds,
            sleep=sleep,
        )

    # --- messages -------------------------------------------------------------------------

    async def send_text(self, openid: str, text: str) -> SendResult:
        """A customer-service text message (inside the 48-hour window)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        await self._call("message/custom/send", body=body, idempotent=False)
        return SendResult(msgid=None)

    async def send_image(self, openid: str, media_id: str) -> SendResult:
        """A customer-service image message, by the media id of an uploaded image."""
        body = {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        await self._call("message/custom/send", body=body, idempotent=False)
        return SendResult(msgid=None)

    async def send_news(self, openid: str, articles: Sequence[Article]) -> SendResult:
        """A customer-service news message (WeChat currently shows one article)."""
        if not articles:
            raise ValueError("a news message needs at least one article")
        body = {
            "touser": openid,
            "msgtype": "news",
            "news": {"articles": [a.to_json() for a in articles]},
        }
        await self._call("message/custom/send", body=body, idempotent=False)
        return SendResult(msgid=None)

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        url: str | None = None,
        *,
        client_msg_id: str | None = None,
    ) -> SendResult:
        """A template message: the way to reach a member outside the window. WeChat sends one
        message per openid and `client_msg_id` within 10 minutes, so a retry after a lost answer
        does not reach the member twice."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        answer = await self._call(
            "message/template/send", body=body, idempotent=client_msg_id is not None
        )
        msgid = answer.get("msgid")
        return SendResult(msgid=None if msgid is None else str(msgid))

    async def mass_send_text_by_tag(
        self, tag_id: int, text: str, *, clientmsgid: str
    ) -> MassSendResult:
        return await self._mass_send(
            tag_id, {"msgtype": "text", "text": {"content": text}}, clientmsgid
        )

    async def mass_send_mpnews_by_tag(
        self, tag_id: int, media_id: str, *, clientmsgid: str
    ) -> MassSendResult:
        content = {"msgtype": "mpnews", "mpnews": {"media_id": media_id}, "send_ignore_reprint": 0}
        return await self._mass_send(tag_id, content, clientmsgid)

    async def _mass_send(
        self, tag_id: int, content: dict[str, Any], clientmsgid: str
    ) -> MassSendResult:
        if not 0 < len(clientmsgid) <= 64:
            raise ValueError("clientmsgid must be 1-64 characters")
        body = {"filter": {"is_to_all": False, "tag_id": tag_id}, "clientmsgid": clientmsgid}
        body.update(content)
        try:
            answer = await self._call("message/mass/sendall", body=body)
        except DuplicateMassSend as duplicate:
            # The same clientmsgid went out before (perhaps a retry after a lost answer): its
            # msg_id, when WeChat gives it, is the one MASSSENDJOBFINISH will name.
            msg_id = _opt_int(duplicate.answer.get("msg_id"))
            return MassSendResult(msg_id=msg_id, msg_data_id=None, duplicate=True)
        return MassSendResult(
            msg_id=_opt_int(answer.get("msg_id")), msg_data_id=_opt_int(answer.get("msg_data_id"))
        )

    # --- users, QR codes, menu, tags -----------------------------------------------------------

    async def user_info(self, openid: str, lang: str = "zh_CN") -> UserInfo:
        answer = await self._call(
            "user/info", method="GET", params={"openid": openid, "lang": lang}
        )
        return UserInfo.from_json(answer)

    async def create_qrcode(self, scene: str, *, expire_seconds: int | None = None) -> QRCode:
        """A string-scene code: permanent (`store_12`, `staff_7`) or temporary (seconds)."""
        if not 0 < len(scene) <= 64:
            raise ValueError("a QR scene string has 1-64 characters")
        body: dict[str, Any] = {"action_info": {"scene": {"scene_str": scene}}}
        if expire_seconds is None:
            body["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            if not 0 < expire_seconds <= QR_MAX_EXPIRE_S:
                raise ValueError("a temporary QR code lives 1 s to 30 days")
            body["action_name"] = "QR_STR_SCENE"
            body["expire_seconds"] = expire_seconds
        answer = await self._call("qrcode/create", body=body)
        return QRCode(
            ticket=str(answer["ticket"]),
            url=str(answer.get("url", "")),
            expire_seconds=_opt_int(answer.get("expire_seconds")),
        )

    async def create_menu(self, buttons: Sequence[MenuButton]) -> None:
        if not 0 < len(buttons) <= 3:
            raise ValueError("a menu has 1-3 top-level buttons")
        await self._call("menu/create", body={"button": [b.to_json() for b in buttons]})

    async def get_menu(self) -> tuple[MenuButton, ...]:
        try:
            answer = await self._call("menu/get", method="GET")
        except WeChatAPIError as exc:
            if exc.errcode == MENU_MISSING:
                return ()
            raise
        buttons = (answer.get("menu") or {}).get("button") or ()
        return tuple(MenuButton.from_json(b) for b in buttons)

    async def create_tag(self, name: str) -> Tag:
        answer = await self._call("tags/create", body={"tag": {"name": name}})
        tag = answer["tag"]
        return Tag(id=int(tag["id"]), name=str(tag["name"]))

    async def get_tags(self) -> tuple[Tag, ...]:
        answer = await self._call("tags/get", method="GET")
        return tuple(
            Tag(id=int(t["id"]), name=str(t["name"]), count=int(t.get("count", 0)))
            for t in answer.get("tags") or ()
        )

    async def delete_tag(self, tag_id: int) -> None:
        """An account has at most 100 tags: a mass send's tag is deleted once it is done."""
        await self._call("tags/delete", body={"tag": {"id": tag_id}})

    async def tag_members(self, tag_id: int, openids: Sequence[str]) -> int:
        """Tag everyone in `openids`, 50 a call; returns the number of calls made."""
        return await self._batch_tag("tags/members/batchtagging", tag_id, openids)

    async def untag_members(self, tag_id: int, openids: Sequence[str]) -> int:
        return await self._batch_tag("tags/members/batchuntagging", tag_id, openids)

    async def _batch_tag(self, path: str, tag_id: int, openids: Sequence[str]) -> int:
        calls = 0
        for start in range(0, len(openids), TAG_BATCH):
            chunk = list(openids[start : start + TAG_BATCH])
            await self._call(path, body={"openid_list": chunk, "tagid": tag_id})
            calls += 1
        return calls

    # --- the call machinery ----------------------------------------------------------------

    async def _call(
        self,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        method: str = "POST",
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """`idempotent=False`: an error after which WeChat may have acted is raised, not
        retried (only a connection that could not be made, or a busy answer, is retried)."""
        token = await self.tokens.get()
        token_renewed = False
        retries = 0
        while True:
            try:
                return await self._exchange(
                    path, method, body, {**(params or {}), "access_token": token}
                )
            except TokenInvalid:
                if token_renewed:
                    raise
                token_renewed = True
                log.warning("%s: access token rejected; renewing it once", path)
                token = await self.tokens.refresh_invalid(token)
            except WeChatAPIError as exc:
                may_repeat = idempotent or not getattr(exc, "written", False)
                if not exc.retryable or not may_repeat or retries >= self._retry.retries:
                    raise
                retries += 1
                delay = self._retry.delay(retries)
                # WeChat's errmsg says why (and may echo what we sent: the log setup masks it).
                log.warning(
                    "%s: %s %s; retry %d in %.2fs", path, exc.result, exc.errmsg, retries, delay
                )
                await self._sleep(delay)
                token = await self.tokens.get()

    async def _fetch_token(self, force_refresh: bool) -> FetchedToken:
        body = {
            "grant_type": "client_credential",
            "appid": self._credentials.appid,
            "secret": self._credentials.secret,
            "force_refresh": force_refresh,
        }
        retries = 0
        while True:
            try:
                answer = await self._exchange("stable_token", "POST", body, None)
                return FetchedToken(
                    token=str(answer["access_token"]), expires_in=int(answer["expires_in"])
                )
            except WeChatAPIError as exc:
                if not exc.retryable or retries >= self._retry.retries:
                    raise
                retries += 1
                await self._sleep(self._retry.delay(retries))
            except (KeyError, ValueError, TypeError):
                self._count("stable_token", "malformed")
                raise TransportError(
                    0, "token answer without a token", endpoint="stable_token"
                ) from None

    async def _exchange(
        self,
        path: str,
        method: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """One HTTP round trip; returns the answer or raises its error. Counts the outcome."""
        url = f"{self._base}/cgi-bin/{path}"
        try:
            async with self._http.request(
                method, url, params=params, json=body, timeout=self._timeout
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Only the class name: aiohttp's messages can carry the URL, and so the token.
            transport = TransportError(0, type(exc).__name__, endpoint=path)
            # A connection never made (refused, DNS, connect timeout) carried no request.
            transport.written = not isinstance(
                exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
            )
            self._count(path, transport.result)
            raise transport from None
        if status >= 300:
            transport = TransportError(status, f"HTTP {status}", endpoint=path)
            transport.retryable = status >= 500
            self._count(path, transport.result)
            raise transport
        try:
            answer = _json_object(raw)
        except ValueError:
            self._count(path, "malformed")
            raise TransportError(status, "answer is not a JSON object", endpoint=path) from None
        errcode = int(answer.get("errcode") or 0)
        if errcode:
            err = error_for(errcode, str(answer.get("errmsg", "")), endpoint=path)
            err.answer = answer
            self._count(path, err.result)
            raise err
        self._count(path, "ok")
        return answer

    def _count(self, path: str, result: str) -> None:
        self._metrics.api_calls.labels(path, result).inc()


def _json_object(raw: bytes) -> dict[str, Any]:
    value = json.loads(raw.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
