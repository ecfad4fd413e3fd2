"""Bonus points for a batch in one transaction: each ref once, debts paid first, the ledger's
invariants kept; a batch run twice, or two at once, gives nothing twice."""

from __future__ import annotations

import asyncio

from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.points import ledger
from club.points.bulk import Credit, credit_many
from club.rules.kinds import EntryKind
from tests.club.ledger_support import NOW, assert_consistent, make_member, standing


async def test_a_batch_credits_each_ref_once_and_pays_debts_first(db: None) -> None:
    members = [await make_member(n) for n in range(5)]
    indebted = members[4]
    await Member.filter(id=indebted).update(points_debt=30)  # a reversal left a debt
    await LedgerEntry.create(
        member_id=indebted, kind=EntryKind.ADJUST, points=-30, balance_after=0, debt_after=30,
        reason="debt", ref="debt", created_at=NOW,
    )  # fmt: skip
    batch = [Credit(m, 100, f"gift:{m}", "gift") for m in members]
    batch.append(Credit(members[0], 7, f"extra:{members[0]}", "second item of one member"))
    assert await credit_many(batch, now=NOW, expires_at=None) == 507
    assert await credit_many(batch, now=NOW, expires_at=None) == 0  # run again: nothing
    for m in members:
        await assert_consistent(m)
    assert await standing(members[0]) == (107, 0)
    assert await standing(indebted) == (70, 0)
    entries = await LedgerEntry.filter(member_id=members[1]).values_list("points", "balance_after")
    assert entries == [(100, 100)]


async def test_two_batches_at_once_credit_each_ref_once(db: None) -> None:
    members = [await make_member(n) for n in range(50)]
    batch = [Credit(m, 10, f"gift:{m}", "gift") for m in members]
    given = await asyncio.gather(
        credit_many(batch, now=NOW, expires_at=None), credit_many(batch, now=NOW, expires_at=None)
    )
    assert sum(given) == 500
    for m in members:
        await assert_consistent(m)
        assert (await ledger.balance(m, NOW)).balance == 10
