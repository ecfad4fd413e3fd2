"""Parse a callback body into `Incoming`, refusing anything that is not plain WeChat XML.

xmltodict (the parser wechatpy itself uses) already refuses entity declarations, but it accepts a
bare DOCTYPE and reports problems as KeyError, ExpatError, ValueError or TypeError depending on the
input. Everything here raises `MalformedMessage` instead, so the edge has one thing to catch.
We build `Incoming` ourselves rather than through `wechatpy.parse_message`: that one rewrites
`subscribe` events with a QR scene into another event name and gives no typed fields.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from xml.parsers.expat import ExpatError

import xmltodict

from bot.messages import Incoming

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

# Fields with their own slot in Incoming; everything else textual goes to `fields`.
_NAMED = {
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Content",
    "Event",
    "EventKey",
    "Ticket",
    "Latitude",
    "Longitude",
    "ScanCodeInfo",
}


class MalformedMessage(Exception):
    """The body is not a WeChat message we can read."""


XmlFields = dict[str, "str | XmlFields | None"]


def parse_fields(body: bytes) -> XmlFields:
    """The children of the `<xml>` root, as strings (or nested mappings)."""
    if not body or not body.strip():
        raise MalformedMessage("empty body")
    if _DECLARATION.search(body):
        raise MalformedMessage("DOCTYPE or ENTITY declarations are not accepted")
    try:
        text = body.decode("utf-8")
        doc = xmltodict.parse(text, disable_entities=True)
    except (ExpatError, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"not XML: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or set(doc) != {"xml"}:
        raise MalformedMessage("the root element must be <xml>")
    root = doc["xml"]
    if not isinstance(root, dict):
        raise MalformedMessage("<xml> has no fields")
    return root


def text_field(fields: XmlFields, name: str, *, required: bool = False) -> str | None:
    value = fields.get(name)
    if value is None:
        if required:
            raise MalformedMessage(f"missing {name}")
        return None
    if not isinstance(value, str):
        raise MalformedMessage(f"{name} must be text")
    return value


def _int_field(fields: XmlFields, name: str, *, required: bool = False) -> int | None:
    value = text_field(fields, name, required=required)
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise MalformedMessage(f"{name} must be a number")
    return int(value)


def build_incoming(fields: XmlFields) -> Incoming:
    openid = text_field(fields, "FromUserName", required=True)
    msg_type = text_field(fields, "MsgType", required=True)
    create_time = _int_field(fields, "CreateTime", required=True)
    assert openid is not None and msg_type is not None and create_time is not None
    if not openid.strip() or len(openid) > 64:
        raise MalformedMessage("bad FromUserName")
    event = text_field(fields, "Event")
    scan = fields.get("ScanCodeInfo")
    scan_type = scan_result = None
    if scan is not None:
        if not isinstance(scan, dict):
            raise MalformedMessage("ScanCodeInfo must have fields")
        scan_type = text_field(scan, "ScanType")
        scan_result = text_field(scan, "ScanResult")
    extra = {
        name: value
        for name, value in fields.items()
        if name not in _NAMED and isinstance(value, str)
    }
    return Incoming(
        openid=openid,
        account=text_field(fields, "ToUserName") or "",
        msg_type=msg_type.strip().lower(),
        create_time=create_time,
        msg_id=_int_field(fields, "MsgId"),
        content=text_field(fields, "Content"),
        event=event.strip().lower() if event else None,
        event_key=text_field(fields, "EventKey"),
        ticket=text_field(fields, "Ticket"),
        scan_type=scan_type,
        scan_result=scan_result,
        latitude=text_field(fields, "Latitude"),
        longitude=text_field(fields, "Longitude"),
        fields=MappingProxyType(extra),
    )


def parse_incoming(body: bytes) -> Incoming:
    return build_incoming(parse_fields(body))
