"""The typed member record the staff API reads instead of the ORM row."""

from __future__ import annotations

import pytest

from club.db.models.members import Member, MemberStatus
from club.members.records import member_by_id, member_by_openid
from tests.club.ledger_support import NOW

pytestmark = pytest.mark.usefixtures("db")


async def test_lookup_by_id_and_openid_copies_the_row() -> None:
    row = await Member.create(
        openid="o-rec-1", phone="13812345678", joined_at=NOW, language="en", unreachable_at=NOW
    )
    by_id = await member_by_id(row.id)
    assert by_id is not None and by_id == await member_by_openid("o-rec-1")
    assert (by_id.id, by_id.openid, by_id.phone, by_id.language) == (
        row.id, "o-rec-1", "13812345678", "en",
    )  # fmt: skip
    assert by_id.joined and by_id.unreachable and not by_id.deleted
    assert by_id.status is MemberStatus.ACTIVE


async def test_deleted_and_unknown_members() -> None:
    row = await Member.create(openid="o-rec-2", status=MemberStatus.DELETED)
    found = await member_by_id(row.id)
    assert found is not None and found.deleted and not found.joined and not found.unreachable
    assert await member_by_id(row.id + 1000) is None
    assert await member_by_openid("nobody") is None
