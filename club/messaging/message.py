"""What a message to a member is, and its one encoding in the outbox.

Pure: standard library only. Four kinds of content reach a member:
- `Text`: a customer-service text message (inside the member's window);
- `LinkCard`: a customer-service news message with one article (WeChat shows one);
- `Image`: a customer-service image by the media id of an uploaded image;
- `Template`: a template message (the way to reach a member outside the window), its fields as
  the template in the Official Account defines them (`thing2`, `time3`, `keyword1`, ...).

An `Envelope` is what the outbox keeps: the content to send, and, for customer-service content,
the template to send instead if WeChat says the window has closed (45015/45047) by the time the
message goes. `encode`/`decode` are the outbox payload's only reader and writer; `decode` also
reads rows written before this module existed (the same JSON shapes, `fallback` with `data`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# New-style ("类目模板") template fields are typed by their name's prefix, and WeChat refuses a
# value longer than its type allows (47003). Values are cut to fit here, with an ellipsis, so a
# long tier name or reward cannot make a whole message fail. Old-style fields (first, keywordN,
# remark) take free text.
TEMPLATE_FIELD_LIMITS: Mapping[str, int] = {
    "thing": 20,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phrase": 5,
    "name": 10,
    "phone_number": 17,
    "car_number": 8,
}
FREE_TEXT_LIMIT = 200
"""Old-style fields and unknown types: a generous cap, so a runaway value is still bounded."""
TEXT_LIMIT = 2000
"""Customer-service text: WeChat allows about 2,048 bytes of content; keep clear of it."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class LinkCard:
    title: str
    url: str
    description: str = ""
    picurl: str = ""


@dataclass(frozen=True)
class Image:
    media_id: str


@dataclass(frozen=True)
class Template:
    template_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None


Content = Text | LinkCard | Image | Template


@dataclass(frozen=True)
class Envelope:
    content: Content
    fallback: Template | None = None
    """For customer-service content: the template to send if the window turns out closed."""

    @property
    def is_template(self) -> bool:
        return isinstance(self.content, Template)


def field_limit(name: str) -> int:
    """The longest value WeChat takes in a template field of this name (its type's limit)."""
    base = name.rstrip("0123456789")
    return TEMPLATE_FIELD_LIMITS.get(base, FREE_TEXT_LIMIT)


def fit(value: str, limit: int) -> str:
    """`value` cut to `limit` characters, the last one an ellipsis when cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def template(template_id: str, fields: Mapping[str, str], url: str | None = None) -> Template:
    """A template message whose field values fit their types."""
    return Template(
        template_id, {name: fit(str(v), field_limit(name)) for name, v in fields.items()}, url
    )


def check(content: Content) -> None:
    """Refuse content WeChat would refuse, before anything is written."""
    if isinstance(content, Text):
        if not content.text.strip():
            raise ValueError("a text message needs text")
        if len(content.text) > TEXT_LIMIT:
            raise ValueError(f"a text message has at most {TEXT_LIMIT} characters")
    elif isinstance(content, LinkCard):
        if not content.title or not content.url.startswith(("https://", "http://")):
            raise ValueError("a link card needs a title and an http(s) url")
    elif isinstance(content, Image):
        if not content.media_id:
            raise ValueError("an image message needs a media id")
    elif not content.template_id:
        raise ValueError("a template message needs a template id")


def encode(envelope: Envelope) -> dict[str, Any]:
    """The outbox payload (JSON) of an envelope."""
    payload = _content_json(envelope.content)
    if envelope.fallback is not None:
        fallback = envelope.fallback
        payload["fallback"] = {
            "template_id": fallback.template_id,
            "data": dict(fallback.fields),
            "url": fallback.url,
        }
    return payload


def decode(payload: Mapping[str, Any]) -> Envelope:
    """The envelope an outbox payload holds; ValueError for a payload no sender can use."""
    try:
        content = _content(payload)
        raw = payload.get("fallback")
        fallback = (
            Template(str(raw["template_id"]), _fields(raw["data"]), raw.get("url"))
            if isinstance(raw, Mapping)
            else None
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed outbox payload: {exc!r}") from None
    return Envelope(content, fallback)


def _content_json(content: Content) -> dict[str, Any]:
    if isinstance(content, Text):
        return {"msgtype": "text", "text": content.text}
    if isinstance(content, LinkCard):
        article = {
            "title": content.title,
            "description": content.description,
            "url": content.url,
            "picurl": content.picurl,
        }
        return {"msgtype": "news", "articles": [article]}
    if isinstance(content, Image):
        return {"msgtype": "image", "media_id": content.media_id}
    return {
        "msgtype": "template",
        "template_id": content.template_id,
        "data": dict(content.fields),
        "url": content.url,
    }


def _content(payload: Mapping[str, Any]) -> Content:
    msgtype = payload.get("msgtype")
    if msgtype == "text":
        return Text(str(payload["text"]))
    if msgtype == "news":
        first = payload["articles"][0]
        return LinkCard(
            title=str(first["title"]),
            url=str(first.get("url") or ""),
            description=str(first.get("description") or ""),
            picurl=str(first.get("picurl") or ""),
        )
    if msgtype == "image":
        return Image(str(payload["media_id"]))
    if msgtype == "template":
        return Template(str(payload["template_id"]), _fields(payload["data"]), payload.get("url"))
    raise ValueError(f"unknown outbox payload type {msgtype!r}")


def _fields(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in data.items()}
