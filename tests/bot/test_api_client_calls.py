"""The WeChat API calls: what goes on the wire and the typed results that come back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.kv import Redis
from bot.wechat.api import RetryPolicy, WeChatAPI
from bot.wechat.errors import DuplicateMassSend, WeChatAPIError
from bot.wechat.types import Article, MenuButton, Tag
from tests.bot.test_sending import make_api
from tests.fakes import FakeWeChat, Reply

OPENID = "oQwErTyUiOp1234567890abcd"


@pytest.fixture
async def api(fake: FakeWeChat, store: Redis) -> AsyncIterator[WeChatAPI]:
    retry = RetryPolicy(retries=2, base_delay_s=0.001)
    async with aiohttp.ClientSession() as http:
        yield make_api(fake.base_url, http, store, retry=retry, sleep=asyncio.sleep)


async def test_news_message(api: WeChatAPI, fake: FakeWeChat) -> None:
    await api.send_news(OPENID, [Article("标题", "描述", "https://e.com/a", "https://e.com/p.png")])
    (call,) = fake.calls("message/custom/send")
    assert call.body == {
        "touser": OPENID,
        "msgtype": "news",
        "news": {
            "articles": [
                {
                    "title": "标题",
                    "description": "描述",
                    "url": "https://e.com/a",
                    "picurl": "https://e.com/p.png",
                }
            ]
        },
    }
    with pytest.raises(ValueError):
        await api.send_news(OPENID, [])


async def test_template_message_returns_its_msgid(api: WeChatAPI, fake: FakeWeChat) -> None:
    fake.script("message/template/send", [{"errcode": 0, "errmsg": "ok", "msgid": 200228332}])
    result = await api.send_template(OPENID, "TPL", {"first": "x"})
    assert result.msgid == "200228332"
    assert "url" not in fake.calls("message/template/send")[0].body


async def test_user_info_is_typed(api: WeChatAPI, fake: FakeWeChat) -> None:
    fake.script(
        "user/info",
        [
            {
                "subscribe": 1,
                "openid": OPENID,
                "language": "zh_CN",
                "subscribe_time": 1763863200,
                "unionid": "oUnion",
                "remark": "",
                "tagid_list": [128, 2],
                "subscribe_scene": "ADD_SCENE_QR_CODE",
                "qr_scene": 0,
                "qr_scene_str": "store_12",
            }
        ],
    )
    info = await api.user_info(OPENID)
    assert info.subscribed is True
    assert info.subscribe_time == datetime(2025, 11, 23, 2, 0, tzinfo=UTC)
    assert info.tag_ids == (128, 2)
    assert info.qr_scene_str == "store_12"
    assert fake.calls("user/info")[0].query["openid"] == OPENID
    fake.script("user/info", [{"subscribe": 0, "openid": OPENID}])
    gone = await api.user_info(OPENID)
    assert (gone.subscribed, gone.subscribe_time, gone.unionid) == (False, None, None)


async def test_permanent_and_temporary_qr_codes(api: WeChatAPI, fake: FakeWeChat) -> None:
    permanent = await api.create_qrcode("store_12")
    temporary = await api.create_qrcode("staff_7", expire_seconds=3600)
    first, second = fake.calls("qrcode/create")
    assert first.body == {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "store_12"}},
    }
    assert second.body == {
        "action_name": "QR_STR_SCENE",
        "expire_seconds": 3600,
        "action_info": {"scene": {"scene_str": "staff_7"}},
    }
    assert permanent.expire_seconds is None and permanent.ticket
    assert temporary.expire_seconds == 3600
    for bad in ("", "x" * 65):
        with pytest.raises(ValueError):
            await api.create_qrcode(bad)
    with pytest.raises(ValueError):
        await api.create_qrcode("store_1", expire_seconds=31 * 24 * 3600)
    assert fake.count("qrcode/create") == 2


async def test_menu_round_trip(api: WeChatAPI, fake: FakeWeChat) -> None:
    assert await api.get_menu() == ()  # 46003: no menu yet
    menu = (
        MenuButton("积分", type="click", key="POINTS"),
        MenuButton(
            "会员",
            sub_buttons=(
                MenuButton("会员卡", type="click", key="CARD"),
                MenuButton("官网", type="view", url="https://example.com"),
            ),
        ),
        MenuButton("帮助", type="click", key="HELP"),
    )
    await api.create_menu(menu)
    assert fake.calls("menu/create")[0].body["button"][1]["sub_button"][1] == {
        "name": "官网",
        "type": "view",
        "url": "https://example.com",
    }
    assert await api.get_menu() == menu
    with pytest.raises(ValueError):
        await api.create_menu([MenuButton(str(i)) for i in range(4)])


async def test_tags_and_batches_of_fifty(api: WeChatAPI, fake: FakeWeChat) -> None:
    tag = await api.create_tag("金卡会员")
    openids = [f"oMember{i:020d}" for i in range(120)]
    assert await api.tag_members(tag.id, openids) == 3
    sizes = [len(c.body["openid_list"]) for c in fake.calls("tags/members/batchtagging")]
    assert sizes == [50, 50, 20]
    assert fake.tagged(tag.id) == set(openids)
    assert await api.get_tags() == (Tag(id=tag.id, name="金卡会员", count=120),)
    assert await api.untag_members(tag.id, openids[:60]) == 2
    assert fake.tagged(tag.id) == set(openids[60:])
    assert await api.tag_members(tag.id, []) == 0


async def test_a_deleted_tags_id_is_never_given_again(api: WeChatAPI, fake: FakeWeChat) -> None:
    """As WeChat does: a run's late call to its deleted tag (a delete asked again, an untag)
    must not reach another run's tag that got the same id."""
    first = await api.create_tag("clubbot-c1-r1")
    await api.delete_tag(first.id)
    second = await api.create_tag("clubbot-c2-r2")
    assert second.id != first.id
    await api.tag_members(second.id, ["oMember-2"])
    with pytest.raises(WeChatAPIError):
        await api.delete_tag(first.id)
    assert await api.get_tags() == (Tag(id=second.id, name="clubbot-c2-r2", count=1),)


async def test_mass_send_by_tag_is_idempotent_on_clientmsgid(
    api: WeChatAPI, fake: FakeWeChat
) -> None:
    first = await api.mass_send_text_by_tag(101, "双十一", clientmsgid="campaign-9")
    assert first.duplicate is False and first.msg_id is not None
    again = await api.mass_send_text_by_tag(101, "双十一", clientmsgid="campaign-9")
    assert again.duplicate is True and again.msg_id == first.msg_id  # the send it had
    body = fake.calls("message/mass/sendall")[0].body
    assert body == {
        "filter": {"is_to_all": False, "tag_id": 101},
        "clientmsgid": "campaign-9",
        "msgtype": "text",
        "text": {"content": "双十一"},
    }
    news = await api.mass_send_mpnews_by_tag(101, "MEDIA_ID", clientmsgid="campaign-10")
    assert news.duplicate is False
    assert fake.calls("message/mass/sendall")[2].body["mpnews"] == {"media_id": "MEDIA_ID"}
    with pytest.raises(ValueError):
        await api.mass_send_text_by_tag(101, "x", clientmsgid="c" * 65)


async def test_a_mass_send_retried_after_a_lost_answer_is_not_sent_twice(
    api: WeChatAPI, fake: FakeWeChat
) -> None:
    # The first try reached WeChat but its answer was a 502; the retry hears 45065.
    fake.script("message/mass/sendall", [Reply(status=502), 45065])
    result = await api.mass_send_text_by_tag(101, "x", clientmsgid="campaign-11")
    assert result.duplicate is True
    assert fake.count("message/mass/sendall") == 2
    assert issubclass(DuplicateMassSend, WeChatAPIError)


async def test_a_repeated_mass_send_gives_the_msg_id_of_the_send_wechat_had(
    api: WeChatAPI, fake: FakeWeChat
) -> None:
    # WeChat's answer to a clientmsgid it had (its documentation: 45065 carries the msg_id of
    # the send that exists; seen so in the developer community's reports).
    answer = {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": 3147494552}
    fake.script("message/mass/sendall", [answer])
    result = await api.mass_send_text_by_tag(101, "x", clientmsgid="campaign-12")
    assert (result.duplicate, result.msg_id) == (True, 3147494552)
