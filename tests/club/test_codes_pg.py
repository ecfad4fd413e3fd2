"""Bottle codes under real concurrency (PostgreSQL): one code, many members, one award."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from club.codes.bottle import CodeStatus, generate_batch, redeem_code
from club.db.models.catalog import BottleCode
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.members.enrolment import complete_enrolment, get_or_create_member, record_consent
from club.programme import Programme, load_programme

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def test_one_code_from_fifty_members_awards_once(
    pg_only: None, db: None, programme: Programme
) -> None:
    members = []
    for i in range(50):
        member = await get_or_create_member(f"oMEMBER{i:03d}", NOW)
        await record_consent(member.id, NOW, programme)
        await complete_enrolment(member.id, "13812345678", None, NOW, programme)
        members.append(member.id)
    code = (await generate_batch(1, 40, "pg-race", NOW)).codes[0]

    outcomes = await asyncio.gather(*(redeem_code(m, code, NOW, programme) for m in members))

    statuses = [o.status for o in outcomes]
    assert statuses.count(CodeStatus.EARNED) == 1
    assert statuses.count(CodeStatus.USED_BY_OTHER) == 49
    winner = members[statuses.index(CodeStatus.EARNED)]
    row = await BottleCode.get(code=code.replace("-", ""))
    assert row.used_by_id == winner  # type: ignore[attr-defined]
    assert await LedgerEntry.filter(ref__startswith="bottle:").count() == 1
    balances = {m.id: m.points_balance for m in await Member.filter(id__in=members)}
    assert balances[winner] == 140
    assert sorted(balances.values()) == [100] * 49 + [140]


async def test_one_member_sending_the_same_code_twenty_times_earns_once(
    pg_only: None, db: None, programme: Programme
) -> None:
    member = await get_or_create_member("oREPEAT", NOW)
    await record_consent(member.id, NOW, programme)
    await complete_enrolment(member.id, "13812345678", None, NOW, programme)
    code = (await generate_batch(1, 40, "pg-repeat", NOW)).codes[0]
    outcomes = await asyncio.gather(
        *(redeem_code(member.id, code, NOW, programme) for _ in range(20))
    )
    statuses = [o.status for o in outcomes]
    assert statuses.count(CodeStatus.EARNED) == 1
    assert statuses.count(CodeStatus.USED_BY_YOU) == 19
    assert (await Member.get(id=member.id)).points_balance == 140
