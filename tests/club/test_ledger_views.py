"""Reading a member's movements: newest first, paged by id, lot expiry alongside."""

from __future__ import annotations

from datetime import datetime

import pytest

from club.points import ledger as points
from club.points.ledger import EntryKind
from club.points.views import MAX_MOVEMENTS, movements
from tests.club.ledger_support import NOW, TZ, make_member

pytestmark = pytest.mark.usefixtures("db")

END_2027 = datetime(2028, 1, 1, tzinfo=TZ)


async def test_newest_first_paged_by_id_with_expiry_and_only_this_member() -> None:
    m, other = await make_member(1), await make_member(2)
    for n in range(1, 6):
        await points.credit(
            m, n, kind=EntryKind.EARN, ref=f"o:{n}", reason=f"买{n}", now=NOW, expires_at=END_2027
        )
    await points.credit(other, 9, kind=EntryKind.EARN, ref="o:x", reason="x", now=NOW)
    await points.debit(m, 4, kind=EntryKind.REDEEM, ref="r:1", reason="兑换", now=NOW)

    first = await movements(m, limit=3)
    assert [(v.points, v.reason) for v in first] == [(-4, "兑换"), (5, "买5"), (4, "买4")]
    assert first[0].kind is EntryKind.REDEEM and first[0].expires_at is None
    assert first[0].balance_after == 11 and first[0].ref == "r:1"
    assert first[1].expires_at == END_2027 and first[1].created_at == NOW
    rest = await movements(m, limit=10, before_id=first[-1].id)
    assert [v.points for v in rest] == [3, 2, 1]
    assert await movements(m, limit=10, before_id=rest[-1].id) == []
    assert await movements(12345, limit=5) == []


@pytest.mark.parametrize("limit", [0, -1, MAX_MOVEMENTS + 1])
async def test_limit_out_of_range_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await movements(1, limit=limit)
