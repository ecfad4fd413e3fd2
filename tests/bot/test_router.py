"""Router filters and precedence, dialog state storage, and the per-member lock."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from bot import keys
from bot.fsm import Dialog, DialogRecord, RedisStateStorage
from bot.kv import Redis
from bot.locks import MemberBusy, MemberLock, member_lock
from bot.messages import Incoming
from bot.replies import Reply, TextReply
from bot.router import Context, Dispatcher, Router
from bot.turns import Turns
from bot.wechat.inbound import parse_incoming
from club.clock import FixedClock
from tests.conftest import TOKEN, make_settings
from tests.fixtures.wechat import plain_query, xml
from tests.fixtures.wechat.app import running_app


def text(content: str) -> Incoming:
    return parse_incoming(xml("text.xml", **{"帮助": content}).encode())


def event(name: str) -> Incoming:
    return parse_incoming(xml(name).encode())


async def noop(ctx: Context) -> Reply | None:
    return None


def named(router: Router, registration: object, name: str) -> None:
    """Register a distinct function called `name` through a decorator."""

    async def handler(ctx: Context) -> Reply | None:
        return TextReply(name)

    handler.__qualname__ = name
    registration(handler)  # type: ignore[operator]


def picked(dispatcher: Dispatcher, message: Incoming, state: str | None = None) -> str | None:
    route = dispatcher.resolve(message, state)
    return None if route is None else route.handler.func.__qualname__


@pytest.fixture
def dispatcher() -> Dispatcher:
    first, second, last = Router("first"), Router("second"), Router("last")
    named(first, first.text("积分", "Points"), "points")
    named(first, first.regex(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"), "bottle_code")
    named(first, first.click("POINTS"), "click_points")
    named(first, first.event("subscribe"), "subscribe")
    named(first, first.event("UNSUBSCRIBE"), "unsubscribe")
    named(first, first.scan("store_"), "scan_store")
    named(first, first.view(), "view")
    named(first, first.location(), "location")
    named(first, first.scan_waitmsg(), "scan_waitmsg")
    named(first, first.message("image"), "image")
    named(first, first.state("enrol:phone"), "enrol_phone")
    named(second, second.text("积分"), "points_again")  # shadowed: first router wins
    named(second, second.state("enrol:phone", "enrol:name", any_message=True), "enrol_any")
    named(second, second.cancel("取消", "Cancel"), "cancel")
    named(last, last.fallback(), "fallback")
    return Dispatcher([first, second, last])


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (text("积分"), "points"),
        (text(" points "), "points"),
        (text("POINTS"), "points"),
        (text("ＰＯＩＮＴＳ"), "points"),
        (text("积分呢"), "fallback"),
        (text("K7P2-9QX4"), "bottle_code"),
        (text("k7p2-9qx4"), "fallback"),
        (event("click_help.xml"), None),
        (parse_incoming(xml("click_help.xml", HELP="POINTS").encode()), "click_points"),
        (event("subscribe.xml"), "subscribe"),
        (event("subscribe_store_qr.xml"), "subscribe"),
        (event("unsubscribe.xml"), "unsubscribe"),
        (event("scan_store.xml"), "scan_store"),
        (parse_incoming(xml("scan_store.xml", store_12="staff_7").encode()), None),
        (event("view.xml"), "view"),
        (event("location_event.xml"), "location"),
        (event("scancode_waitmsg.xml"), "scan_waitmsg"),
        (event("image.xml"), "image"),
        (event("unknown_event.xml"), None),
        (event("unknown_type.xml"), None),
        (text("取消"), "cancel"),
        (text("cancel"), "cancel"),
    ],
)
def test_filters_outside_a_dialog(dispatcher: Dispatcher, message: Incoming, expected: str) -> None:
    assert picked(dispatcher, message) == expected


def test_dialog_state_is_checked_before_words_and_cancel_before_state(
    dispatcher: Dispatcher,
) -> None:
    assert picked(dispatcher, text("积分"), "enrol:phone") == "enrol_phone"
    assert picked(dispatcher, text("13800138000"), "enrol:phone") == "enrol_phone"
    assert picked(dispatcher, text("取消"), "enrol:phone") == "cancel"
    assert picked(dispatcher, text("Zhang San"), "enrol:name") == "enrol_any"
    # A menu click during a text-only step is the click, not the step.
    menu = parse_incoming(xml("click_help.xml", HELP="POINTS").encode())
    assert picked(dispatcher, menu, "enrol:phone") == "enrol_any"  # any_message step
    assert picked(dispatcher, menu, "redeem:confirm") == "click_points"
    # A state nobody handles: normal routing.
    assert picked(dispatcher, text("积分"), "gone:step") == "points"


def test_regex_match_reaches_the_handler() -> None:
    router = Router("codes")
    seen: list[re.Match[str] | None] = []

    @router.regex(r"(?P<code>[A-Z0-9]{4}-[A-Z0-9]{4})")
    async def code(ctx: Context) -> Reply | None:
        seen.append(ctx.match)
        return None

    route = Dispatcher([router]).resolve(text("code K7P2-9QX4 please"), None)
    assert route is not None and route.match is not None
    assert route.match.group("code") == "K7P2-9QX4"


def test_router_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        Dispatcher([Router("a"), Router("a")])


def test_the_project_routers_load_in_order() -> None:
    from handlers import routers

    names = [r.name for r in routers()]
    assert names[0] == "cancel" and names[-1] == "fallback"
    Dispatcher(routers())


# --- dialog state -----------------------------------------------------------------------------


async def test_dialog_state_round_trip_with_expiry(store: Redis) -> None:
    storage = RedisStateStorage(store)
    dialog = await Dialog.load(storage, "oMember0001")
    assert dialog.current is None and await dialog.data() == {}
    await dialog.set("enrol:phone", attempts=0, source="menu")
    assert 0 < await store.ttl(keys.state("oMember0001")) <= keys.STATE_TTL_S

    again = await Dialog.load(storage, "oMember0001")
    assert await again.get() == "enrol:phone"
    assert await again.update(attempts=1, phone="138****8000") == {
        "attempts": 1,
        "source": "menu",
        "phone": "138****8000",
    }
    third = await Dialog.load(storage, "oMember0001")
    assert (await third.data())["attempts"] == 1
    await third.clear()
    assert await store.get(keys.state("oMember0001")) is None
    assert (await Dialog.load(storage, "oMember0001")).current is None


async def test_unreadable_or_empty_state_is_no_state(store: Redis) -> None:
    storage = RedisStateStorage(store)
    await store.set(keys.state("o1"), b"{not json", ex=60)
    assert await storage.load("o1") == DialogRecord()
    await store.set(keys.state("o1"), json.dumps([1, 2]).encode(), ex=60)
    assert await storage.load("o1") == DialogRecord()
    await storage.save("o1", DialogRecord())
    assert await store.exists(keys.state("o1")) == 0


async def test_a_two_step_dialog_through_the_endpoint(clock: FixedClock, store: Redis) -> None:
    router = Router("survey")

    @router.text("survey")
    async def start(ctx: Context) -> Reply | None:
        await ctx.state.set("survey:age")
        return TextReply("age?")

    @router.state("survey:age")
    async def age(ctx: Context) -> Reply | None:
        if not ctx.text.isdigit():
            return TextReply("a number please")
        await ctx.state.set("survey:city", age=int(ctx.text))
        return TextReply("city?")

    @router.state("survey:city")
    async def city(ctx: Context) -> Reply | None:
        data = await ctx.state.data()
        await ctx.state.clear()
        return TextReply(f"{data['age']} in {ctx.text}")

    from handlers import cancel, fallback

    routers = [cancel.router, router, fallback.router]
    async with running_app(make_settings(), clock, store, routers=routers) as client:
        now = int(clock.now().timestamp())
        answers = []
        for n, words in enumerate(["survey", "old", "42", "取消", "survey", "42", "Hangzhou"]):
            body = xml("text.xml", **{"帮助": words, "24571001001": f"9900{n}"})
            resp = await client.post("/wechat", params=plain_query(TOKEN, now), data=body.encode())
            answers.append((await resp.text()).split("<Content><![CDATA[")[1].split("]]>")[0])
        assert answers == [
            "age?",
            "a number please",
            "city?",
            "Cancelled.",  # the member wrote English first: their language
            "age?",
            "city?",
            "42 in Hangzhou",
        ]


# --- one message at a time per member ---------------------------------------------------------


async def test_messages_of_one_member_never_interleave(clock: FixedClock, store: Redis) -> None:
    trace: list[str] = []
    router = Router("trace")

    @router.fallback()
    async def slow(ctx: Context) -> Reply | None:
        trace.append(f"start {ctx.message.openid} {ctx.message.content}")
        await asyncio.sleep(0.2)
        trace.append(f"end {ctx.message.openid} {ctx.message.content}")
        return None

    async with running_app(make_settings(), clock, store, routers=[router]) as client:
        now = int(clock.now().timestamp())

        async def send(openid: str, words: str, msg_id: str) -> int:
            body = xml("text.xml", **{"帮助": words, "24571001001": msg_id, "oMember0001": openid})
            resp = await client.post("/wechat", params=plain_query(TOKEN, now), data=body.encode())
            return resp.status

        # A double tap: two different messages of one member at once.
        await asyncio.gather(
            send("oA", "one", "1"), send("oA", "two", "2"), send("oA", "three", "3")
        )
        starts_and_ends = [line.split()[0] for line in trace]
        assert starts_and_ends == ["start", "end"] * 3
        for i in range(0, 6, 2):
            assert trace[i].split()[2] == trace[i + 1].split()[2]

        # Two members are not serialised against each other.
        trace.clear()
        await asyncio.gather(send("oB", "x", "4"), send("oC", "y", "5"))
        assert [line.split()[0] for line in trace] == ["start", "start", "end", "end"]


async def test_member_lock_gives_up_after_its_wait(store: Redis) -> None:
    async with member_lock(store, "oBusy"):
        with pytest.raises(MemberBusy):
            async with member_lock(store, "oBusy", wait=0.1):
                pass
    async with member_lock(store, "oBusy", wait=0.1):
        pass  # released: free again


async def test_member_lock_never_deletes_another_holders_lock(store: Redis) -> None:
    await store.set(keys.state("oL"), b'{"state": "enrol:phone", "data": {}}', ex=60)
    lock = MemberLock(store, "oL", wait=0.1)
    assert await lock.acquire(peek=keys.state("oL")) == b'{"state": "enrol:phone", "data": {}}'
    await lock.release()
    assert await store.get(keys.member_lock("oL")) is None

    late = MemberLock(store, "oL", wait=0.1)
    await late.acquire()
    # Its lock expired and another worker took it: releasing must leave the other's alone.
    await store.set(keys.member_lock("oL"), b"someone-else", px=5000)
    await late.release()
    assert await store.get(keys.member_lock("oL")) == b"someone-else"


async def test_a_turn_claims_locks_and_reads_state_in_one_step(store: Redis) -> None:
    turns = Turns(store)
    await store.set(keys.state("oT"), b'{"state": "survey:age", "data": {}}', ex=60)
    first = MemberLock(store, "oT")
    entry = await turns.enter("msg:1", first, keys.state("oT"))
    assert entry.claimed and first.held
    assert entry.state_raw == b'{"state": "survey:age", "data": {}}'

    retry = MemberLock(store, "oT")
    assert (await turns.enter("msg:1", retry, keys.state("oT"))).claimed is False
    assert not retry.held  # a retry does not touch the member's lock

    other = MemberLock(store, "oT")
    entry = await turns.enter("msg:2", other, keys.state("oT"))
    assert entry.claimed and not other.held and entry.state_raw is None  # must wait its turn

    assert await turns.leave("msg:1", b"<xml>reply</xml>", first) is True
    assert not first.held
    assert await store.get(keys.member_lock("oT")) is None
    assert await store.get(keys.dedup("msg:1")) == b"=<xml>reply</xml>"
    await turns.aclose()
