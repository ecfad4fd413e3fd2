"""Signed messages whose fields WeChat never sends in that shape, through the real handlers.

Found by sending every message type with each field removed, emptied or replaced (numbers in
other scripts, values past 64-bit, keys longer than a column): the parser takes them (they are
well-formed XML, and a follow or a mass-send report must not be lost to a 400), so the handlers
must cope. Each was answered with the apology and an ERROR with a traceback. Now the message is
handled as far as it makes sense: the follow is recorded without the unusable scene, a report
with an unreadable MsgID is not ours, an unreadable count is unknown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.campaigns import Campaign, CampaignRun, MassSend, MassStatus
from club.db.models.members import FollowEvent, Member, MemberStatus
from club.db.models.segments import Segment, SegmentKind
from handlers.texts import t
from tests.bot.test_callback_handlers import Bot
from tests.conftest import make_settings
from tests.fixtures.wechat.app import running_app


@pytest.fixture
async def bot(clock: FixedClock, store: Redis) -> AsyncIterator[Bot]:
    async with running_app(make_settings(), clock, store) as client:
        yield Bot(client, clock, store)


def no_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING or r.exc_info
    ]


def subscribe_xml(event_key: str) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_clubbot0001]]></ToUserName>\n"
        "<FromUserName><![CDATA[oMember0001]]></FromUserName>\n"
        "<CreateTime>1795399200</CreateTime>\n"
        "<MsgType><![CDATA[event]]></MsgType>\n"
        "<Event><![CDATA[subscribe]]></Event>\n"
        f"<EventKey><![CDATA[{event_key}]]></EventKey>\n"
        "<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==]]></Ticket>\n"
        "</xml>"
    )


@pytest.mark.parametrize("scene", ["s" * 65, "store_" + "9" * 59, "x" * 2000])
async def test_a_follow_with_a_scene_longer_than_any_qr_code_is_still_a_follow(
    bot: Bot, scene: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A string scene is 1-64 characters (QR_LIMIT_STR_SCENE); the follow event keeps 64.
    caplog.set_level(logging.INFO)
    assert await bot.reply_text(subscribe_xml(f"qrscene_{scene}")) == t("welcome", "zh")
    member = await Member.get(openid="oMember0001")
    assert member.status == MemberStatus.ACTIVE and member.source_kind is None
    follow = await FollowEvent.get(member_id=member.id)
    assert follow.scene is None
    assert no_errors(caplog) == []


async def test_a_follow_with_a_scene_of_64_characters_keeps_it(bot: Bot) -> None:
    scene = "store_" + "9" * 58
    await bot.send(subscribe_xml(f"qrscene_{scene}"))
    member = await Member.get(openid="oMember0001")
    assert (member.source_kind, member.source_ref) == ("store", "9" * 58)
    assert (await FollowEvent.get(member_id=member.id)).scene == scene


def mass_finished_xml(msg_id: str, total: str = "100", sent: str = "75") -> str:
    """WeChat's MASSSENDJOBFINISH (from `mphelper`), with the given fields as text."""
    return (
        "<xml><ToUserName><![CDATA[gh_clubbot0001]]></ToUserName>\n"
        "<FromUserName><![CDATA[oR5Gjjl_eiZoUpGozMo7dbBJ362A]]></FromUserName>\n"
        "<CreateTime>1795399200</CreateTime>\n"
        "<MsgType><![CDATA[event]]></MsgType>\n"
        "<Event><![CDATA[MASSSENDJOBFINISH]]></Event>\n"
        f"<MsgID>{msg_id}</MsgID>\n"
        "<Status><![CDATA[send success]]></Status>\n"
        f"<TotalCount>{total}</TotalCount>\n"
        "<FilterCount>80</FilterCount>\n"
        f"<SentCount>{sent}</SentCount>\n"
        "<ErrorCount>5</ErrorCount>\n"
        "</xml>"
    )


async def mass_send(clock: FixedClock, msg_id: int) -> MassSend:
    """One of our mass sends, sent and waiting for WeChat's report."""
    now = clock.now()
    segment = await Segment.create(
        name="all", kind=SegmentKind.RULE, rule={"rule": "joined"}, created_at=now
    )
    campaign = await Campaign.create(
        name="c", segment=segment, message={"text": "hi"}, seed=1, created_at=now,
        updated_at=now,
    )  # fmt: skip
    run = await CampaignRun.create(campaign=campaign, day=now.date(), started_at=now)
    return await MassSend.create(
        run=run, clientmsgid="c-1", status=MassStatus.SENT, msg_id=msg_id, sent_at=now
    )


@pytest.mark.parametrize("msg_id", ["²", "١٠٠٠٠٠١٦٢٥", str(2**63), "9" * 25])
async def test_a_mass_send_report_with_an_unreadable_msg_id_is_not_ours(
    bot: Bot, clock: FixedClock, msg_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    send = await mass_send(clock, 1000001625)
    assert await bot.send(mass_finished_xml(msg_id)) == "success"
    assert (await MassSend.get(id=send.id)).status is MassStatus.SENT
    assert no_errors(caplog) == []


@pytest.mark.parametrize("count", ["²", "٧٥", str(2**31), "9" * 25])
async def test_an_unreadable_count_in_our_mass_send_report_is_unknown(
    bot: Bot, clock: FixedClock, count: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    send = await mass_send(clock, 1000001625)
    assert await bot.send(mass_finished_xml("1000001625", total=count, sent=count)) == "success"
    send = await MassSend.get(id=send.id)
    assert send.status is MassStatus.FINISHED
    assert (send.total_count, send.filter_count, send.sent_count, send.error_count) == (
        None, 80, None, 5,
    )  # fmt: skip
    assert no_errors(caplog) == []
