"""Service tickets end to end: opened in chat (literal WeChat XML), answered and closed by staff
over the API, key customers first."""

from __future__ import annotations

from datetime import timedelta

from bot.kv import Redis
from club.clock import FixedClock
from club.db.models.members import Member
from club.db.models.service import StaffContact
from handlers.texts import t
from tests.bot.test_staff_api_support import Client, audit_rows, error_of, staff_headers
from tests.club.value.fixtures import valued
from tests.handlers.chat import Chat


async def value(member_id: int, value_class: str, clock: FixedClock) -> None:
    await valued(member_id, clock.now(), value_class)


async def test_ticket_opened_in_chat_answered_and_closed(
    client: Client, clock: FixedClock, store: Redis
) -> None:
    staff = (await staff_headers())["clerk"]
    casual = Chat(client, clock, store, "oCasual")
    key = Chat(client, clock, store, "oKey")
    opened = await casual.say("人工")
    assert opened.startswith("已为您转接人工客服（服务单 1）")
    clock.advance(timedelta(minutes=1))
    assert await key.say("客服") == t("ticket_opened", "zh", ticket=2)
    assert await casual.say("酒的味道不对") == t("ticket_forwarded", "zh", ticket=1)
    assert await casual.say("积分") == t("ticket_forwarded", "zh", ticket=1)  # held: to the ticket
    assert await key.say("想订20箱") == t("ticket_forwarded", "zh", ticket=2)
    await value((await Member.get(openid="oCasual")).id, "C", clock)
    await value((await Member.get(openid="oKey")).id, "A", clock)

    listed = await (await client.get("/api/v1/tickets", headers=staff)).json()
    assert [(x["id"], x["key_customer"], x["value_class"]) for x in listed["tickets"]] == [
        (2, True, "A"),
        (1, False, "C"),
    ]
    assert listed["tickets"][1]["last_text"] == "积分"
    detail = await (await client.get("/api/v1/tickets/1", headers=staff)).json()
    assert [line["text"] for line in detail["lines"]] == ["酒的味道不对", "积分"]

    resp = await client.post(
        "/api/v1/tickets/1/answers", json={"text": "抱歉，请拍下瓶盖码发给我们"}, headers=staff
    )
    answer = await resp.json()
    assert resp.status == 201, answer
    casual_id = (await Member.get(openid="oCasual")).id
    assert (answer["ticket_id"], answer["member_id"], answer["text"]) == (
        1,
        casual_id,
        "抱歉，请拍下瓶盖码发给我们",
    )
    assert await StaffContact.filter(member_id=casual_id, channel="ticket").count() == 1

    close = {"note": "已回复"}
    closed = await (await client.post("/api/v1/tickets/1/close", json=close, headers=staff)).json()
    assert closed["changed"] and closed["member_id"] == casual_id
    again = await (await client.post("/api/v1/tickets/1/close", json={}, headers=staff)).json()
    assert not again["changed"]
    late = await client.post("/api/v1/tickets/1/answers", json={"text": "还在吗"}, headers=staff)
    assert "closed" in (await error_of(late, 422))["message"]
    # Closed: the member's messages go their usual way again.
    assert await casual.say("积分") == t("join_first", "zh", bonus=100)
    # The key customer ends their own ticket in chat.
    assert await key.say("结束") == t("ticket_ended", "zh", ticket=2)
    assert await key.say("帮助") == t("help", "zh")
    open_now = await (await client.get("/api/v1/tickets", headers=staff)).json()
    assert open_now["tickets"] == []
    actions = [r.action for r in await audit_rows() if r.action.startswith("ticket.")]
    assert actions == [
        "ticket.list",
        "ticket.read",
        "ticket.answer",
        "ticket.close",
        "ticket.close",
        "ticket.answer",
        "ticket.list",
    ]


async def test_the_answer_and_the_close_reach_the_member_through_wechat(
    clock: FixedClock, store: Redis
) -> None:
    from bot.deps import DEPS
    from tests.conftest import APPID, make_settings
    from tests.fakes import FakeWeChat
    from tests.fixtures.wechat.app import running_app

    async with FakeWeChat(appid=APPID) as fake:
        settings = make_settings(wechat_dry_run=False, wechat_api_base=fake.base_url)
        async with running_app(settings, clock, store) as client:
            member = Chat(client, clock, store, "oWaiting")
            assert (await member.say("人工")).startswith("已为您转接人工客服")
            staff = (await staff_headers())["clerk"]
            answer = {"text": "您好，马上为您补发积分"}
            resp = await client.post("/api/v1/tickets/1/answers", json=answer, headers=staff)
            assert resp.status == 201
            await client.post("/api/v1/tickets/1/close", json={}, headers=staff)
            deps = client.app[DEPS]
            await deps.drain()  # embedded: handed to the in-process sender at commit
            await deps.delivery.send_due()  # with a queue: what its workers would do
            sent = [c.body for c in fake.calls("message/custom/send")]
    assert [(b["touser"], b["text"]["content"]) for b in sent] == [
        ("oWaiting", "【会员服务】您好，马上为您补发积分"),
        ("oWaiting", "您的人工服务已结束，感谢您的耐心。如需帮助，随时发送“人工”。"),
    ]
