"""Daily check-in: once a day, streaks, the bonus on every 7th day."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from club.db.models.ledger import CheckIn, LedgerEntry
from club.points.checkin import check_in
from club.points.ops import UnknownMember
from club.programme import load_programme
from tests.club.ledger_support import NOW, assert_consistent, make_member, standing

pytestmark = pytest.mark.usefixtures("db")
PROGRAMME = load_programme(None)


async def test_once_per_day() -> None:
    m = await make_member()
    first = await check_in(m, NOW, PROGRAMME)
    assert (first.streak, first.points, first.bonus, first.balance) == (1, 2, 0, 2)
    again = await check_in(m, NOW + timedelta(hours=5), PROGRAMME)
    assert again == first and again.already and not first.already
    assert await standing(m) == (2, 0)


async def test_streak_bonus_on_day_seven_and_reset_after_a_gap() -> None:
    m = await make_member()
    results = [await check_in(m, NOW + timedelta(days=d), PROGRAMME) for d in range(8)]
    assert [r.streak for r in results] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [r.bonus for r in results] == [0, 0, 0, 0, 0, 0, 20, 0]
    assert await standing(m) == (8 * 2 + 20, 0)
    gap = await check_in(m, NOW + timedelta(days=10), PROGRAMME)
    assert gap.streak == 1
    entry = await LedgerEntry.get(ref=f"checkin:{m}:{(NOW + timedelta(days=6)).date()}")
    assert entry.points == 22 and "连续7天" in entry.reason
    await assert_consistent(m)


async def test_local_day_boundary() -> None:
    m = await make_member()
    late = NOW.replace(hour=23, minute=59)
    await check_in(m, late, PROGRAMME)
    next_day = await check_in(m, late + timedelta(minutes=2), PROGRAMME)
    assert not next_day.already and next_day.streak == 2


async def test_double_tap_at_once_checks_in_once() -> None:
    m = await make_member()
    results = await asyncio.gather(*(check_in(m, NOW, PROGRAMME) for _ in range(10)))
    assert len(set(results)) == 1
    assert await CheckIn.filter(member_id=m).count() == 1
    assert await standing(m) == (2, 0)


async def test_unknown_member() -> None:
    with pytest.raises(UnknownMember):
        await check_in(424242, NOW, PROGRAMME)
