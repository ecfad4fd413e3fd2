"""Expiry: the pure date rule, expire_due through the ledger, expiring_soon."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from club.db.models.ledger import LedgerEntry, PointsLot
from club.points import expiry
from club.points import ledger as points
from club.points.expiry import expire_due, expiring_soon
from club.points.ledger import EntryKind
from club.programme import ExpiryKind, ExpiryRule
from club.rules.expiry import expires_at, expiry_date, last_valid_day
from tests.club.ledger_support import (
    NOW,
    TZ,
    assert_consistent,
    assert_lots_explained,
    make_member,
    standing,
)

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


async def _expire_rows(member: int) -> list[tuple[str, int, int]]:
    """(ref, points, balance after) of the member's EXPIRE rows, in the order written."""
    rows = (
        await LedgerEntry.filter(member_id=member, kind=EntryKind.EXPIRE)
        .order_by("id")
        .values_list("ref", "points", "balance_after")
    )
    return [(str(r), int(p), int(b)) for r, p, b in rows]


async def _lot_ids(member: int) -> list[int]:
    return [
        int(i)
        for i in await PointsLot.filter(member_id=member)
        .order_by("id")
        .values_list("id", flat=True)
    ]


@pytest.mark.usefixtures("db")
async def test_several_lots_of_one_member_in_one_batch_carry_the_running_balance() -> None:
    m, other = await make_member(1), await make_member(2)
    await _earn(m, 100, "a", NOW - timedelta(days=3))
    await _earn(other, 10, "o", NOW - timedelta(days=3))  # another member's lot in between
    await _earn(m, 40, "b", NOW - timedelta(days=2))
    await _earn(m, 25, "c", NOW - timedelta(days=1))
    await _earn(m, 7, "d", NOW + timedelta(days=30))
    await points.debit(m, 30, kind=EntryKind.REDEEM, ref="r", reason="兑换", now=NOW)  # from a
    a, b, c, _ = await _lot_ids(m)
    run = await expire_due(NOW)
    assert (run.lots, run.points, run.members) == (4, 70 + 40 + 25 + 10, 2)
    # Each row's balance is the member's balance right after that lot left it.
    assert await _expire_rows(m) == [
        (f"lot:{a}", -70, 72),
        (f"lot:{b}", -40, 32),
        (f"lot:{c}", -25, 7),
    ]
    assert await standing(m) == (7, 0)
    assert await standing(other) == (0, 0)
    for member in (m, other):
        await assert_consistent(member)
        await assert_lots_explained(member)


@pytest.mark.usefixtures("db")
async def test_a_lot_spent_between_selection_and_expiry_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spender, partly = await make_member(1), await make_member(2)
    await _earn(spender, 50, "s", NOW - timedelta(days=1))
    await _earn(partly, 30, "p", NOW - timedelta(days=1))
    await _earn(partly, 20, "q", NOW + timedelta(days=30))
    select = expiry._due
    spent = False

    async def selected_then_spent(now: datetime, after: int, batch: int) -> list[tuple[int, int]]:
        nonlocal spent
        rows = await select(now, after, batch)
        if rows and not spent:  # both members redeem once the run has picked their lots
            spent = True
            await points.debit(spender, 50, kind=EntryKind.REDEEM, ref="r1", reason="兑换", now=NOW)
            await points.debit(partly, 10, kind=EntryKind.REDEEM, ref="r2", reason="兑换", now=NOW)
        return rows

    monkeypatch.setattr(expiry, "_due", selected_then_spent)
    run = await expire_due(NOW)
    assert spent
    assert (run.lots, run.points, run.members) == (1, 20, 1)
    assert await _expire_rows(spender) == []
    (old, _) = await _lot_ids(partly)
    assert await _expire_rows(partly) == [(f"lot:{old}", -20, 20)]
    assert await standing(spender) == (0, 0)
    assert await standing(partly) == (20, 0)
    for member in (spender, partly):
        await assert_consistent(member)
        await assert_lots_explained(member)


@pytest.mark.usefixtures("db", "pg_only")
async def test_two_runs_at_once_in_small_batches_expire_each_lot_once() -> None:
    members = [await make_member(i) for i in range(12)]
    for day in (3, 2, 1):  # three lots a member, the members' lots interleaved
        for i, m in enumerate(members):
            await _earn(m, 10 * day + i, f"o{day}:{i}", NOW - timedelta(days=day))
    for i, m in enumerate(members[::2]):
        await points.debit(m, 5, kind=EntryKind.REDEEM, ref=f"r{i}", reason="兑换", now=NOW)
    held = sum([(await standing(m))[0] for m in members])
    runs = await asyncio.gather(*(expire_due(NOW, batch=b) for b in (5, 7, 500)))
    assert sum(r.lots for r in runs) == 36
    assert sum(r.points for r in runs) == held
    for m in members:
        assert await standing(m) == (0, 0)
        await assert_consistent(m)
        await assert_lots_explained(m)
        rows = await _expire_rows(m)
        assert sorted(ref for ref, _, _ in rows) == sorted(f"lot:{i}" for i in await _lot_ids(m))
        balance = -sum(p for _, p, _ in rows)
        for _, p, after in rows:  # each row's balance after follows from the one before
            balance += p
            assert after == balance


@pytest.mark.parametrize("seen_under_lock", [True, False])
@pytest.mark.usefixtures("db")
async def test_a_lot_already_carrying_its_expire_row_does_not_cost_the_batch(
    monkeypatch: pytest.MonkeyPatch, seen_under_lock: bool
) -> None:
    members = [await make_member(i) for i in range(3)]
    for i, m in enumerate(members):
        await _earn(m, 10, f"o{i}", NOW - timedelta(days=1))
    (marked,) = await _lot_ids(members[1])
    # An EXPIRE row for a lot that still holds its points (what a run racing this one would
    # leave, caught between this run's check and its insert when the check is not seen).
    await LedgerEntry.create(
        member_id=members[1],
        kind=EntryKind.EXPIRE,
        points=0,
        balance_after=10,
        debt_after=0,
        reason="expired",
        ref=f"lot:{marked}",
        created_at=NOW,
    )
    if not seen_under_lock:  # the batch meets the unique ref and goes on lot by lot

        async def none_expired(*_: object) -> set[int]:
            return set()

        monkeypatch.setattr(expiry, "lots_with_expiry", none_expired)
    run = await expire_due(NOW)
    assert (run.lots, run.points, run.members) == (2, 20, 2)
    assert [await standing(m) for m in members] == [(0, 0), (10, 0), (0, 0)]
    for m in members:
        await assert_consistent(m)
