"""A member chatting with the app through `POST /wechat` as WeChat sends it: signed literal XML."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.deps import DEPS
from bot.kv import Redis
from club.clock import FixedClock
from club.rules.programme import Programme
from tests.conftest import TOKEN
from tests.fixtures.wechat import plain_query

ACCOUNT = "gh_clubbot0001"
_ids = itertools.count(24_571_100_000_001)


def text_xml(openid: str, content: str, msg_id: int, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>\n"
        f"<CreateTime>{create_time}</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n"
        f"<Content><![CDATA[{content}]]></Content>\n"
        f"<MsgId>{msg_id}</MsgId>\n"
        "</xml>"
    )


def click_xml(openid: str, key: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>\n"
        f"<CreateTime>{create_time}</CreateTime>\n"
        "<MsgType><![CDATA[event]]></MsgType>\n"
        "<Event><![CDATA[CLICK]]></Event>\n"
        f"<EventKey><![CDATA[{key}]]></EventKey>\n"
        "</xml>"
    )


def scan_xml(openid: str, result: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>\n"
        f"<CreateTime>{create_time}</CreateTime>\n"
        "<MsgType><![CDATA[event]]></MsgType>\n"
        "<Event><![CDATA[scancode_waitmsg]]></Event>\n"
        "<EventKey><![CDATA[SCAN_CAP]]></EventKey>\n"
        "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>\n"
        f"<ScanResult><![CDATA[{result}]]></ScanResult>\n"
        "</ScanCodeInfo>\n"
        "</xml>"
    )


def subscribe_xml(openid: str, scene: str | None, create_time: int) -> str:
    """A follow; through a parametric QR code when `scene` is given (`store_12`)."""
    key = f"<EventKey><![CDATA[qrscene_{scene}]]></EventKey>\n" if scene else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>\n"
        f"<CreateTime>{create_time}</CreateTime>\n"
        "<MsgType><![CDATA[event]]></MsgType>\n"
        "<Event><![CDATA[subscribe]]></Event>\n"
        f"{key}"
        "</xml>"
    )


@dataclass
class Chat:
    client: TestClient[web.Request, web.Application]
    clock: FixedClock
    store: Redis
    openid: str = "oMember0001"
    _events: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def programme(self) -> Programme:
        return self.client.app[DEPS].programme

    def as_member(self, openid: str) -> Chat:
        """Another member talking to the same app."""
        return Chat(self.client, self.clock, self.store, openid)

    def _time(self) -> int:
        # Events are de-duplicated by member, CreateTime and event: each tap gets its own second.
        return int(self.clock.now().timestamp()) + next(self._events)

    async def post(self, body: str) -> str:
        now = int(self.clock.now().timestamp())
        resp = await self.client.post(
            "/wechat", params=plain_query(TOKEN, now), data=body.encode("utf-8")
        )
        assert resp.status == 200
        return await resp.text()

    @staticmethod
    def content(answer: str) -> str:
        assert answer != "success", "expected a reply"
        return str(xmltodict.parse(answer)["xml"]["Content"])

    def text_body(self, content: str, msg_id: int | None = None) -> str:
        return text_xml(self.openid, content, msg_id or next(_ids), self._time())

    async def say(self, content: str) -> str:
        """Send a text message; the reply's text."""
        return self.content(await self.post(self.text_body(content)))

    async def click(self, key: str) -> str:
        return self.content(await self.post(click_xml(self.openid, key, self._time())))

    async def follow(self, scene: str | None = None) -> str:
        """Follow the account (through a QR code's scene); the welcome's text."""
        return self.content(await self.post(subscribe_xml(self.openid, scene, self._time())))

    async def scan(self, result: str) -> str:
        return self.content(await self.post(scan_xml(self.openid, result, self._time())))

    async def join(
        self, phone: str = "13812345678", birthday: str = "1988-05-20", name: str = "跳过"
    ) -> str:
        """The whole enrolment dialog; the welcome reply."""
        await self.say("入会")
        await self.say("同意")
        await self.say(phone)
        await self.say(birthday)
        await self.say(name)
        return await self.say("确认")

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
