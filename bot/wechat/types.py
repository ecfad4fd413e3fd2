"""Typed values the WeChat API client takes and returns (no raw dicts across layers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Article:
    """One entry of a news (图文) message."""

    title: str
    description: str
    url: str
    picurl: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "title": self.title,
            "description": self.description,
            "url": self.url,
            "picurl": self.picurl,
        }


@dataclass(frozen=True)
class SendResult:
    msgid: str | None
    """Template sends return one; customer-service sends do not."""


@dataclass(frozen=True)
class UserInfo:
    openid: str
    subscribed: bool
    subscribe_time: datetime | None
    unionid: str | None
    language: str | None
    remark: str
    tag_ids: tuple[int, ...]
    subscribe_scene: str | None
    qr_scene_str: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserInfo:
        stamp = data.get("subscribe_time")
        return cls(
            openid=str(data["openid"]),
            subscribed=bool(data.get("subscribe", 0)),
            subscribe_time=datetime.fromtimestamp(int(stamp), UTC) if stamp else None,
            unionid=data.get("unionid") or None,
            language=data.get("language") or None,
            remark=str(data.get("remark") or ""),
            tag_ids=tuple(int(t) for t in data.get("tagid_list") or ()),
            subscribe_scene=data.get("subscribe_scene") or None,
            qr_scene_str=data.get("qr_scene_str") or None,
        )


@dataclass(frozen=True)
class QRCode:
    ticket: str
    url: str
    """What the code encodes (render it yourself, or fetch the image by ticket)."""
    expire_seconds: int | None
    """None for a permanent code."""

    @property
    def image_url(self) -> str:
        return qr_image_url(self.ticket)


SHOW_QR_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"


def qr_image_url(ticket: str) -> str:
    """Where WeChat serves the code's image (no token needed: the ticket is the key)."""
    return f"{SHOW_QR_URL}?ticket={quote(ticket, safe='')}"


@dataclass(frozen=True)
class MenuButton:
    name: str
    type: str | None = None
    """click, view, scancode_waitmsg, ...; None for a button that only holds sub-buttons."""
    key: str | None = None
    url: str | None = None
    appid: str | None = None
    pagepath: str | None = None
    sub_buttons: tuple[MenuButton, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for name in ("type", "key", "url", "appid", "pagepath"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.sub_buttons:
            out["sub_button"] = [b.to_json() for b in self.sub_buttons]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MenuButton:
        subs = data.get("sub_button") or ()
        if isinstance(subs, Mapping):  # menu/get nests them as {"list": [...]} in some answers
            subs = subs.get("list") or ()
        return cls(
            name=str(data.get("name", "")),
            type=data.get("type"),
            key=data.get("key"),
            url=data.get("url"),
            appid=data.get("appid"),
            pagepath=data.get("pagepath"),
            sub_buttons=tuple(cls.from_json(s) for s in subs),
        )


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    count: int = 0


@dataclass(frozen=True)
class MassSendResult:
    msg_id: int | None
    msg_data_id: int | None
    duplicate: bool = False
    """True when WeChat said this `clientmsgid` was already sent (45065): nothing new went out."""
