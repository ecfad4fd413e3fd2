"""Earning caps per order, day and month: purchases through the staff API, codes and check-ins in
chat; a capped credit says so in the ledger reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.kv import Redis
from club.clock import FixedClock
from club.codes.bottle import generate_batch
from club.db.models.catalog import BottleCode
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.programme.demo import DEMO_TOML
from club.rules.caps import Cap, Capped, apply_caps
from club.rules.programme import EarningCaps
from config import Settings
from handlers.texts import t
from tests.bot.test_staff_api_support import staff_headers
from tests.conftest import make_settings
from tests.handlers.chat import Chat

Client = TestClient[web.Request, web.Application]
CAPS = EarningCaps(per_order=100, per_day=150, per_month=400)


@pytest.mark.parametrize(
    ("wanted", "today", "month", "order", "expected"),
    [
        (50, 0, 0, True, Capped(50)),
        (200, 0, 0, True, Capped(100, Cap.ORDER, 100)),
        (200, 0, 0, False, Capped(150, Cap.DAY, 150)),
        (100, 120, 120, True, Capped(30, Cap.DAY, 150)),
        (100, 0, 350, True, Capped(50, Cap.MONTH, 400)),
        (10, 150, 150, False, Capped(0, Cap.DAY, 150)),
    ],
)
def test_apply_caps(wanted: int, today: int, month: int, order: bool, expected: Capped) -> None:
    assert apply_caps(wanted, CAPS, earned_today=today, earned_this_month=month, order=order) == (
        expected
    )
    assert apply_caps(wanted, EarningCaps(), earned_today=today, earned_this_month=month,
                      order=order) == Capped(wanted)  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    text = DEMO_TOML.replace(
        "per_order = 0\nper_day = 0\nper_month = 0",
        "per_order = 100\nper_day = 150\nper_month = 400",
    )
    path = tmp_path / "club.toml"
    path.write_text(text, encoding="utf-8")
    return make_settings(club_config=path)


@pytest.fixture
def chat(client: Client, clock: FixedClock, store: Redis) -> Chat:
    return Chat(client, clock, store)


async def reasons(member_id: int, since: datetime) -> list[tuple[int, str]]:
    rows = await LedgerEntry.filter(member_id=member_id, created_at__gte=since).order_by("id")
    return [(r.points, r.reason) for r in rows]


async def test_purchases_codes_and_checkins_stop_at_the_caps(
    client: Client, chat: Chat, clock: FixedClock
) -> None:
    headers = await staff_headers()
    codes = (await generate_batch(3, 30, "caps", clock.now())).codes
    await chat.join()  # the welcome bonus does not count toward the caps
    member = await Member.get(openid=chat.openid)
    clock.advance(timedelta(minutes=1))
    start = clock.now()

    async def buy(order_id: str, fen: int) -> int:
        body = {"member_id": member.id, "order_id": order_id, "amount_fen": fen}
        resp = await client.post("/api/v1/purchases", json=body, headers=headers["clerk"])
        assert resp.status == 200, await resp.text()
        return int((await resp.json())["points_earned"])

    assert await buy("O-1", 20_000) == 100  # 200 points, cut at 100 an order
    assert await buy("O-2", 10_000) == 50  # 100 more would pass 150 a day
    assert await chat.say("签到") == (
        t("checkin_done", "zh", streak=1, points=0, balance=250) + t("checkin_capped", "zh")
    )
    # A code worth more than today leaves stays valid for tomorrow.
    assert await chat.say(codes[0]) == t("code_capped_day", "zh", limit=150)
    assert (await BottleCode.get(code=codes[0].replace("-", ""))).used_by_id is None
    assert await reasons(member.id, start) == [
        (100, "购买 O-1（单笔积分上限 100）"),
        (50, "购买 O-2（单日积分上限 150）"),
    ]
    clock.advance(timedelta(days=1))
    assert await chat.say(codes[0]) == t("code_earned", "zh", points=30, balance=280)
    assert await buy("O-3", 30_000) == 100
    assert await buy("O-4", 30_000) == 20  # the day: 30 + 100 + 20 = 150
    clock.advance(timedelta(days=1))
    assert await chat.say(codes[1]) == t("code_earned", "zh", points=30, balance=430)
    assert await buy("O-5", 30_000) == 70  # the month: 150 + 150 + 30 + 70 = 400
    assert await chat.say(codes[2]) == t("code_capped_month", "zh", limit=400)
    entry = await LedgerEntry.filter(member_id=member.id, ref="order:O-5").get()
    assert entry.reason == "购买 O-5（单月积分上限 400）"
    # A new month starts afresh.
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=clock.now().tzinfo))
    assert await chat.say(codes[2]) == t("code_earned", "zh", points=30, balance=530)
