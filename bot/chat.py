"""`python -m bot chat [--openid ID] [--url URL]`: talk to a running server as WeChat would.

Each line becomes the XML WeChat would post, signed with WECHAT_TOKEN and, when WECHAT_AES_KEY is
set, encrypted and signed in safe mode (the same settings the server reads). Replies are checked
and decrypted the way WeChat would. In dry-run mode the chat also polls `/dev/outbox` and prints
what the club pushed to its member (deferred replies, greetings) as it arrives, saying whether
it was sent, is queued (until when: quiet hours) or was skipped (and why), and again when a
queued one goes; a push that arrives while you type is printed above the line you are typing.

    帮助 / help            any text is a text message
    /click POINTS          a menu click (POINTS, CARD, REDEEM, CHECKIN, HELP)
    /scan store_12         a follower scans a parametric QR code (SCAN)
    /scan K7P2-9QX4-M3     the menu's scan button reads a code (scancode_waitmsg)
    /subscribe [scene]     follow (through a QR scene such as store_12 or staff_7)
    /unsubscribe           unfollow
    /quit                  leave
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import xmltodict

from bot.chat_display import describe_payload, describe_reply, push_state
from bot.replies import cdata
from bot.terminal import Terminal, stdin_lines
from bot.wechat.crypto import account_crypto, signature, signature_matches
from club.clock import Clock, SystemClock
from config import AccountCredentials, ConfigError, Settings

log = logging.getLogger(__name__)

POLL_S = 1.0
_QR_SCENE = re.compile(r"^(store|staff)_\w+$")
HELP = __doc__.split("\n\n", 2)[2] if __doc__ else ""


class ChatError(Exception):
    """The server's answer is not what WeChat would accept, or there is no server."""


class NoServer(ChatError):
    def __init__(self, url: str) -> None:
        super().__init__(f"the server is not running at {url}")


@dataclass(frozen=True)
class Said:
    """A line typed into the chat, as WeChat's XML (or None for a chat command)."""

    xml: str | None
    quit: bool = False
    show_help: bool = False


class ChatClient:
    def __init__(
        self,
        *,
        credentials: AccountCredentials,
        base_url: str,
        openid: str,
        session: aiohttp.ClientSession,
        clock: Clock,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.openid = openid
        self.session = session
        self.clock = clock
        self.account = credentials.appid
        self.token = credentials.token
        self.crypto = account_crypto(credentials)
        self.last_push_id = 0
        self.pushes_available = True
        self.waiting: dict[int, str] = {}
        """Pushes seen queued (id -> what they said), asked for again until they go."""

    # --- building what WeChat would send --------------------------------------------------

    def _head(self, msg_type: str) -> str:
        return (
            f"<ToUserName>{cdata(self.account)}</ToUserName>"
            f"<FromUserName>{cdata(self.openid)}</FromUserName>"
            f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime>"
            f"<MsgType>{cdata(msg_type)}</MsgType>"
        )

    def _event(self, event: str, key: str | None = None, extra: str = "") -> str:
        key_xml = f"<EventKey>{cdata(key)}</EventKey>" if key is not None else ""
        return f"<xml>{self._head('event')}<Event>{cdata(event)}</Event>{key_xml}{extra}</xml>"

    def parse_line(self, line: str) -> Said:
        line = line.strip()
        if not line:
            return Said(None)
        if not line.startswith("/"):
            msg_id = secrets.randbits(62)
            return Said(
                f"<xml>{self._head('text')}<Content>{cdata(line)}</Content>"
                f"<MsgId>{msg_id}</MsgId></xml>"
            )
        command, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if command in ("quit", "exit"):
            return Said(None, quit=True)
        if command == "click" and arg:
            return Said(self._event("CLICK", arg.upper()))
        if command == "subscribe":
            return Said(self._event("subscribe", f"qrscene_{arg}" if arg else ""))
        if command == "unsubscribe":
            return Said(self._event("unsubscribe", ""))
        if command == "scan" and arg:
            if _QR_SCENE.match(arg):
                return Said(self._event("SCAN", arg))
            info = (
                f"<ScanCodeInfo><ScanType>{cdata('qrcode')}</ScanType>"
                f"<ScanResult>{cdata(arg)}</ScanResult></ScanCodeInfo>"
            )
            return Said(self._event("scancode_waitmsg", "SCAN", info))
        return Said(None, show_help=True)

    # --- talking to the server ------------------------------------------------------------

    async def send(self, xml: str) -> str | None:
        """Post one message; the reply as text to show, or None for `success`."""
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = str(secrets.randbelow(10**9))
        params = {
            "signature": signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": self.openid,
        }
        body = xml.encode("utf-8")
        if self.crypto is not None:
            encrypted = self.crypto.encrypt(body)
            params["encrypt_type"] = "aes"
            params["msg_signature"] = signature(self.token, timestamp, nonce, encrypted)
            body = (
                f"<xml><ToUserName>{cdata(self.account)}</ToUserName>"
                f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>"
            ).encode()
        try:
            async with self.session.post(
                f"{self.base_url}/wechat", params=params, data=body
            ) as resp:
                text = await resp.text()
                if resp.status != 200:
                    raise ChatError(f"the server refused the message: {resp.status} {text}")
        except aiohttp.ClientConnectionError as exc:
            if isinstance(exc, aiohttp.ClientConnectorError):
                raise NoServer(self.base_url) from None
            raise
        if text in ("", "success"):
            return None
        return describe_reply(self._open(text))

    def _open(self, text: str) -> dict[str, Any]:
        doc = xmltodict.parse(text)["xml"]
        if "Encrypt" not in doc:
            return dict(doc)
        if self.crypto is None:
            raise ChatError("an encrypted reply, but no WECHAT_AES_KEY here")
        if not signature_matches(
            str(doc.get("MsgSignature", "")),
            self.token,
            str(doc.get("TimeStamp", "")),
            str(doc.get("Nonce", "")),
            str(doc["Encrypt"]),
        ):
            raise ChatError("the reply's MsgSignature does not match")
        return dict(xmltodict.parse(self.crypto.decrypt(str(doc["Encrypt"])))["xml"])

    async def pushed(self) -> list[str]:
        """Messages pushed to our member since the last call, each with where it stands (sent,
        queued, skipped), and those seen queued before that have gone since (dry-run servers
        only)."""
        if not self.pushes_available:
            return []
        params = {"openid": self.openid, "after": str(self.last_push_id)}
        if self.waiting:
            params["ids"] = ",".join(str(i) for i in sorted(self.waiting))
        try:
            async with self.session.get(f"{self.base_url}/dev/outbox", params=params) as resp:
                if resp.status == 404:
                    self.pushes_available = False  # not a dry-run server: nothing to show
                    return []
                resp.raise_for_status()
                rows = await resp.json()
        except aiohttp.ClientConnectorError:
            raise NoServer(self.base_url) from None
        tz = self.clock.now().tzinfo
        shown = []
        for row in rows:
            row_id, text = int(row["id"]), describe_payload(row.get("payload") or {})
            state = push_state(row, tz)
            if row_id in self.waiting:
                if state.startswith("queued"):
                    continue  # still waiting: said already
                del self.waiting[row_id]
                shown.append(f"[now {state}] {text}")
                continue
            self.last_push_id = max(self.last_push_id, row_id)
            if state.startswith("queued"):
                self.waiting[row_id] = text
            shown.append(f"[{state}] {text}")
        return shown


async def chat_loop(
    client: ChatClient,
    lines: AsyncIterator[str],
    out: Callable[[str], None],
    *,
    poll_every: float = POLL_S,
    push_out: Callable[[str], None] | None = None,
) -> None:
    """Send each line, print the answers (`out`), and print pushed messages as they come
    (`push_out`: while a line may be half typed; `out` by default)."""
    interrupt = push_out or out
    try:
        await client.pushed()  # what was pushed before we started
        client.waiting.clear()
    except (ChatError, aiohttp.ClientError) as exc:
        out(f"! {exc}")

    async def poll() -> None:
        while True:
            await asyncio.sleep(poll_every)
            try:
                for text in await client.pushed():
                    interrupt(f"⇠ {text}")
            except (ChatError, aiohttp.ClientError) as exc:
                log.debug("outbox poll failed: %s", exc)

    poller = asyncio.create_task(poll())
    try:
        async for line in lines:
            said = client.parse_line(line)
            if said.quit:
                break
            if said.show_help:
                out(HELP)
            if said.xml is None:
                continue
            try:
                reply = await client.send(said.xml)
            except (ChatError, aiohttp.ClientError) as exc:
                out(f"! {exc}")
                continue
            out(f"← {reply}" if reply is not None else "← (success: no reply now)")
    finally:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        for text in await _safe_pushed(client):
            out(f"⇠ {text}")


async def _safe_pushed(client: ChatClient) -> list[str]:
    try:
        return await client.pushed()
    except (ChatError, aiohttp.ClientError):
        return []


async def run_chat(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot chat", description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument("--openid", default="o_chat_demo", help="the member you are (FromUserName)")
    parser.add_argument("--url", help="the server (default: http://HOST:PORT from the settings)")
    args = parser.parse_args(list(argv))
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    url = args.url or f"http://{host}:{settings.port}"
    credentials = settings.credentials
    mode = "safe mode (encrypted)" if credentials.aes_key else "plaintext"
    print(f"chatting with {url} as {args.openid}, {mode}; /quit to leave, /help for commands")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        client = ChatClient(
            credentials=credentials,
            base_url=url,
            openid=args.openid,
            session=session,
            clock=SystemClock(settings.tz),
        )
        terminal = Terminal("> ", interactive=sys.stdin.isatty() and sys.stdout.isatty())
        lines = stdin_lines(terminal.prompt, terminal.interactive)
        await chat_loop(client, lines, terminal.show, push_out=terminal.interrupt)
    return 0


def main_chat(argv: Sequence[str]) -> int:
    """Entry for `python -m bot chat ...` (argv: the arguments after `chat`)."""
    try:
        return asyncio.run(run_chat(argv))
    except KeyboardInterrupt:
        return 0
