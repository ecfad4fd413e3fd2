"""The callback's XML reader: what it accepts, what it refuses, and the shape it hands on."""

from __future__ import annotations

import pytest

from bot.wechat.inbound import MalformedMessage, parse_fields, parse_incoming

PICS_EVENT = """<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
<FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
<CreateTime>1408090816</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[pic_weixin]]></Event>
<EventKey><![CDATA[6]]></EventKey>
<SendPicsInfo><Count>2</Count>
<PicList><item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum></item>
<item><PicMd5Sum><![CDATA[7b2f1b1c6c3d4e5f6a7b8c9d0e1f2a3b]]></PicMd5Sum></item></PicList>
</SendPicsInfo>
</xml>"""

SCANCODE = """<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
<FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
<CreateTime>1408090502</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[scancode_waitmsg]]></Event>
<EventKey><![CDATA[SCAN_CODE]]></EventKey>
<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>
<ScanResult><![CDATA[K7P2-9QX4-M3]]></ScanResult>
</ScanCodeInfo>
</xml>"""

UTF16_DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>'
)

TEXT = """<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
<FromUserName><![CDATA[oMember0001]]></FromUserName>
<CreateTime>1795399200</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content>{content}</Content>
<MsgId>24301234567890123</MsgId>
</xml>"""


def test_repeated_items_become_a_list_and_the_event_still_parses() -> None:
    fields = parse_fields(PICS_EVENT.encode())
    pics = fields["SendPicsInfo"]
    assert isinstance(pics, dict) and pics["Count"] == "2"
    items = pics["PicList"]
    assert isinstance(items, dict) and isinstance(items["item"], list)
    assert len(items["item"]) == 2
    message = parse_incoming(PICS_EVENT.encode())
    assert (message.event, message.event_key) == ("pic_weixin", "6")


def test_nested_scan_code_info() -> None:
    message = parse_incoming(SCANCODE.encode())
    assert (message.scan_type, message.scan_result) == ("qrcode", "K7P2-9QX4-M3")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<![CDATA[ 积分 ]]>", "积分"),
        ("<![CDATA[a]]]]><![CDATA[>b]]>", "a]]>b"),
        ("&lt;b&gt; &amp; co", "<b> & co"),
        ("<![CDATA[]]>", None),
        ("", None),
    ],
)
def test_text_is_read_as_wechat_sent_it(content: str, expected: str | None) -> None:
    assert parse_incoming(TEXT.format(content=content).encode()).content == expected


@pytest.mark.parametrize(
    "body",
    [
        # A DOCTYPE in UTF-16 would pass a check of the raw bytes; the body must be UTF-8.
        UTF16_DOCTYPE.encode("utf-16"),
        b"<xml><A>&undefined;</A></xml>",
        b"<xml><A>1</A></xml><xml><A>2</A></xml>",
        b"<xml><A>1</A>",
        b"<xml><A>&#0;</A></xml>",
        b"<xml></xml>",
        b"<!doctype xml><xml><A>1</A></xml>",
    ],
)
def test_refused(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_fields(body)
