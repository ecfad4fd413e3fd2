"""Parse a callback body into `Incoming`, refusing anything that is not plain WeChat XML.

The standard library's ElementTree (expat, in C) reads the body: about a third of the CPU of
xmltodict, which wechatpy uses and which builds the document through a Python callback per
element (measured: 8.5 against 29 us for a text message; the callback parses two documents per
message). Declarations are refused before parsing: with no DOCTYPE there are no entities to
expand, only XML's predefined ones. The body must be UTF-8 (WeChat's encoding); it is decoded
first, so an encoding declaration cannot smuggle a DOCTYPE past the check. Every problem raises
`MalformedMessage`, so the edge has one thing to catch.

WeChat writes its messages flat: `<xml>`, then fields of the form `<Name><![CDATA[text]]></Name>`
or `<Name>text</Name>`. A document of exactly that shape is read by regular expressions, about
half of ElementTree's CPU (measured: 3.6 against 7-11 us for an envelope, 4.8-6.7 against 12-13
us for a text message). Anything else (a declaration, comments, attributes, nested or repeated
fields, entities, a split CDATA section, a carriage return, a character XML forbids, junk after
the root) goes to ElementTree, so the fields are always what ElementTree would give, and
malformed input is refused by it; a property test checks the two agree.

We build `Incoming` ourselves rather than through `wechatpy.parse_message`: that one rewrites
`subscribe` events with a QR scene into another event name and gives no typed fields.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TypeAlias
from xml.etree.ElementTree import Element, ParseError, fromstring

from bot.messages import Incoming

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
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


MAX_DEPTH = 8
"""WeChat nests three levels at most (`SendPicsInfo/PicList/item`); deeper is not WeChat, and
reading it recursively would end in a RecursionError (about 1,000 levels fit in 64 KiB)."""
MAX_INT64 = 2**63 - 1
"""The largest number a field may carry: CreateTime and MsgId are stored in 64-bit columns, so
anything larger would fail at the database (it did: an OverflowError and an apology)."""


XmlValue: TypeAlias = "str | XmlFields | list[XmlValue] | None"
XmlFields: TypeAlias = "dict[str, XmlValue]"
"""An element's children by tag: text (stripped; None when empty), the fields of an element
that has children, or a list when a tag repeats (e.g. the items of a picture list)."""


def _fields(element: Element, depth: int = 1) -> XmlFields:
    if depth > MAX_DEPTH:
        raise MalformedMessage(f"elements nested deeper than {MAX_DEPTH} levels")
    fields: XmlFields = {}
    for child in element:
        value: XmlValue = (
            _fields(child, depth + 1) if len(child) else ((child.text or "").strip() or None)
        )
        if child.tag in fields:
            previous = fields[child.tag]
            if isinstance(previous, list):
                previous.append(value)
            else:
                fields[child.tag] = [previous, value]
        else:
            fields[child.tag] = value
    return fields


_FLAT_OPEN = re.compile(r"[ \t\n]*<xml>")
_FLAT_FIELD = re.compile(
    # CDATA content is text without "]]>": runs of non-"]" and "]" not starting "]]>".
    r"[ \t\n]*<([A-Za-z][A-Za-z0-9_]*)>"
    r"(?:<!\[CDATA\[([^\]]*(?:\](?!\]>)[^\]]*)*)\]\]>|([^<&\]]*))</\1>"
)
_FLAT_CLOSE = re.compile(r"[ \t\n]*</xml>[ \t\n]*")
_NOT_FLAT = re.compile("[\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""A carriage return (ElementTree normalises line ends) or a character XML forbids (it refuses
the document): either way, ElementTree decides."""


def flat_fields(text: str) -> XmlFields | None:
    """The fields of a flat WeChat document, exactly as `tree_fields` would give them; None for
    any other document (then ElementTree reads it, or refuses it)."""
    opened = _FLAT_OPEN.match(text)
    if opened is None or _NOT_FLAT.search(text):
        return None
    fields: XmlFields = {}
    pos = opened.end()
    while (found := _FLAT_FIELD.match(text, pos)) is not None:
        name, cdata, plain = found.groups()
        if name in fields:
            return None  # a repeated tag is a list: ElementTree's job
        value = cdata if cdata is not None else plain
        fields[name] = value.strip() or None
        pos = found.end()
    if not fields or _FLAT_CLOSE.fullmatch(text, pos) is None:
        return None
    return fields


def parse_fields(body: bytes) -> XmlFields:
    """The children of the `<xml>` root, as strings (or nested mappings)."""
    if not body or not body.strip():
        raise MalformedMessage("empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("not UTF-8") from None
    if _DECLARATION.search(text):
        raise MalformedMessage("DOCTYPE or ENTITY declarations are not accepted")
    return flat_fields(text) or tree_fields(text)


def tree_fields(text: str) -> XmlFields:
    """ElementTree's reading of a document (already decoded and free of declarations)."""
    try:
        # Safe without defusedxml: the attacks it guards against (entity expansion, external
        # entities, DTD retrieval) all need a DOCTYPE, refused above; the body is at most 64 KiB.
        root = fromstring(text)  # noqa: S314
    except (ParseError, ValueError) as exc:
        raise MalformedMessage(f"not XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise MalformedMessage("the root element must be <xml>")
    if not len(root):
        raise MalformedMessage("<xml> has no fields")
    return _fields(root)


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
    number = int(value)
    if number > MAX_INT64:
        raise MalformedMessage(f"{name} is out of range")
    return number


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
