"""Helpers for the ledger tests: members and invariant checks straight from the tables."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from club.db.models.ledger import LedgerEntry, PointsLot, PointsLotUse
from club.db.models.members import Member
from club.points import ledger as points
from club.rules.kinds import EntryKind

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


async def make_member(n: int = 1, *, tier: str | None = "taste", floor: str | None = None) -> int:
    member = await Member.create(
        openid=f"o-test-{n:06d}", tier=tier, tier_floor=floor, joined_at=NOW, consent_at=NOW
    )
    return int(member.id)


async def earn(member: int, pts: int, ref: str, until: datetime | None) -> int:
    """Credit a purchase's points expiring at `until`; the id of their lot."""
    moved = await points.credit(
        member, pts, kind=EntryKind.EARN, ref=ref, reason="购买", now=NOW, expires_at=until
    )
    return int((await PointsLot.get(entry_id=moved.entry_id)).id)


async def standing(member_id: int) -> tuple[int, int]:
    member = await Member.get(id=member_id)
    return member.points_balance, member.points_debt


async def assert_consistent(member_id: int) -> None:
    """Ledger sum == balance - debt; balance, debt >= 0; lots hold exactly the balance."""
    balance, debt = await standing(member_id)
    ledger_sum = sum(e.points for e in await LedgerEntry.filter(member_id=member_id))
    lot_sum = sum(lot.remaining for lot in await PointsLot.filter(member_id=member_id))
    assert balance >= 0
    assert debt >= 0
    assert ledger_sum == balance - debt, (ledger_sum, balance, debt)
    assert lot_sum == balance, (lot_sum, balance)
    negative = await PointsLot.filter(member_id=member_id, remaining__lt=0).count()
    assert negative == 0
    lots = await PointsLot.filter(member_id=member_id)
    assert all(lot.remaining <= lot.points for lot in lots), [(x.points, x.remaining) for x in lots]


async def assert_lots_explained(member_id: int) -> None:
    """Every lot's remaining points are its points less what movements took from it (less what
    they gave back) and less what the expiry run emptied: nothing else ever changes a lot."""
    lots = await PointsLot.filter(member_id=member_id)
    uses: dict[int, int] = {}
    for use in await PointsLotUse.filter(lot_id__in=[lot.id for lot in lots]):
        uses[use.lot_id] = uses.get(use.lot_id, 0) + use.points
    expired = {
        e.ref: -e.points
        for e in await LedgerEntry.filter(member_id=member_id, kind=EntryKind.EXPIRE)
    }
    for lot in lots:
        took = uses.get(lot.id, 0)
        assert 0 <= took <= lot.points, (lot.id, lot.points, took)
        assert lot.remaining == lot.points - took - expired.get(f"lot:{lot.id}", 0), (
            lot.id, lot.points, lot.remaining, took, expired.get(f"lot:{lot.id}", 0)
        )  # fmt: skip
