"""Expiry: the pure date rule, expire_due through the ledger, expiring_soon."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from club.db.models.ledger import LedgerEntry, PointsLot
from club.points import ledger as points
from club.points.expiry import expire_due, expiring_soon
from club.points.ledger import EntryKind
from club.programme import ExpiryKind, ExpiryRule
from club.rules.expiry import expires_at, expiry_date, last_valid_day
from tests.club.ledger_support import NOW, TZ, assert_consistent, make_member, standing

END_OF_NEXT_YEAR = ExpiryRule(ExpiryKind.END_OF_NEXT_YEAR)
ROLLING_365 = ExpiryRule(ExpiryKind.ROLLING_DAYS, 365)
ROLLING_1 = ExpiryRule(ExpiryKind.ROLLING_DAYS, 1)


@pytest.mark.parametrize(
    ("earned", "rule", "last_day"),
    [
        (datetime(2026, 1, 1, 0, 0, tzinfo=TZ), END_OF_NEXT_YEAR, date(2027, 12, 31)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=TZ), END_OF_NEXT_YEAR, date(2027, 12, 31)),
        (datetime(2027, 1, 1, 0, 1, tzinfo=TZ), END_OF_NEXT_YEAR, date(2028, 12, 31)),
        (datetime(2026, 11, 23, 10, tzinfo=TZ), ROLLING_365, date(2027, 11, 23)),
        (
            datetime(2028, 2, 29, 8, tzinfo=TZ),
            ExpiryRule(ExpiryKind.ROLLING_DAYS, 1),
            date(2028, 3, 1),
        ),
    ],
)
def test_expiry_date(earned: datetime, rule: ExpiryRule, last_day: date) -> None:
    assert expiry_date(earned, rule) == last_day
    gone = expires_at(earned, rule)
    assert gone == datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=TZ)
    assert last_valid_day(gone) == last_day


def test_the_day_is_the_club_day_not_utc() -> None:
    # 2026-12-31 20:00 UTC is already 2027-01-01 in Shanghai.
    earned = datetime(2027, 1, 1, 4, 0, tzinfo=TZ)
    assert expiry_date(earned, END_OF_NEXT_YEAR) == date(2028, 12, 31)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        expiry_date(datetime(2026, 1, 1), END_OF_NEXT_YEAR)


async def _earn(member: int, pts: int, ref: str, until: datetime | None) -> None:
    await points.credit(
        member, pts, kind=EntryKind.EARN, ref=ref, reason="购买", now=NOW, expires_at=until
    )


@pytest.mark.usefixtures("db")
async def test_expire_due_consumes_what_is_left_of_past_lots_once() -> None:
    m = await make_member()
    soon = datetime(2027, 1, 1, tzinfo=TZ)
    await _earn(m, 100, "a", soon)
    await _earn(m, 40, "b", datetime(2028, 1, 1, tzinfo=TZ))
    await _earn(m, 7, "c", None)
    await points.debit(m, 30, kind=EntryKind.REDEEM, ref="r", reason="兑换", now=NOW)
    before = await expire_due(soon - timedelta(seconds=1))
    assert (before.lots, before.points) == (0, 0)
    run = await expire_due(soon)
    assert (run.lots, run.points, run.members) == (1, 70, 1)
    assert await standing(m) == (47, 0)
    again = await expire_due(soon + timedelta(days=1))
    assert (again.lots, again.points) == (0, 0)
    entry = await LedgerEntry.get(kind=EntryKind.EXPIRE)
    assert entry.points == -70 and entry.balance_after == 47
    await assert_consistent(m)


@pytest.mark.usefixtures("db")
async def test_expiry_of_many_members_in_batches() -> None:
    members = [await make_member(i) for i in range(7)]
    for i, m in enumerate(members):
        await _earn(m, 10 + i, f"o{i}", NOW - timedelta(days=1))
    run = await expire_due(NOW, batch=3)
    assert (run.lots, run.members, run.points) == (7, 7, sum(10 + i for i in range(7)))
    assert await PointsLot.filter(remaining__gt=0).count() == 0


@pytest.mark.usefixtures("db")
async def test_expiring_soon_groups_by_day() -> None:
    m = await make_member()
    await _earn(m, 5, "a", datetime(2026, 12, 1, tzinfo=TZ))
    await _earn(m, 6, "b", datetime(2026, 12, 1, tzinfo=TZ))
    await _earn(m, 7, "c", datetime(2026, 12, 20, tzinfo=TZ))
    await _earn(m, 8, "d", datetime(2027, 6, 1, tzinfo=TZ))
    soon = await expiring_soon(m, NOW, 30)
    assert [(s.points, s.expires_on) for s in soon] == [
        (11, date(2026, 11, 30)),
        (7, date(2026, 12, 19)),
    ]
    assert await expiring_soon(m, NOW, 1) == ()


@pytest.mark.usefixtures("db", "pg_only")
async def test_two_expiry_runs_at_once_expire_each_lot_once() -> None:
    members = [await make_member(i) for i in range(20)]
    for i, m in enumerate(members):
        await _earn(m, 10, f"o{i}", NOW - timedelta(days=1))
        await points.debit(m, 3, kind=EntryKind.REDEEM, ref=f"r{i}", reason="兑换", now=NOW)
    runs = await asyncio.gather(expire_due(NOW), expire_due(NOW), expire_due(NOW))
    assert sum(r.points for r in runs) == 20 * 7
    for m in members:
        assert await standing(m) == (0, 0)
        await assert_consistent(m)
