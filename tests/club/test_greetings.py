"""Greetings on the database: who is greeted, by which channel, with what, and only once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.greetings.lunar import to_lunar
from club.greetings.service import greet_birthdays, greet_festivals, ledger_gifts
from club.messaging.outbox import Outbox
from club.programme import Programme, load_programme
from tests.conftest import ON_POSTGRES

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)  # lunar 2026-10-15
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
MID_AUTUMN = date(2026, 9, 25)
_ids = count(1)


@pytest.fixture
def programme() -> Programme:
    return load_programme(None)


async def member(
    *,
    solar: tuple[int, int] | None = None,
    lunar: tuple[int, int, bool] | None = None,
    status: MemberStatus = MemberStatus.ACTIVE,
    consent: bool = True,
    tier: str = "taste",
    last_interaction_at: datetime | None = None,
    last_message_at: datetime | None = None,
    name: str | None = "王芳",
    language: str = "zh",
) -> Member:
    n = next(_ids)
    fields: dict[str, Any] = {}
    if solar is not None:
        fields |= {"birthday_mmdd": solar[0] * 100 + solar[1]}
    if lunar is not None:
        fields |= {
            "birthday_lunar_month": lunar[0],
            "birthday_lunar_day": lunar[1],
            "birthday_lunar_leap": lunar[2],
        }
    return await Member.create(
        openid=f"oGreet{n:06d}",
        status=status,
        consent_at=NOW - timedelta(days=30) if consent else None,
        joined_at=NOW - timedelta(days=30) if consent else None,
        tier=tier,
        name=name,
        language=language,
        last_interaction_at=last_interaction_at,
        last_message_at=last_message_at,
        **fields,
    )


async def outbox() -> dict[int, OutboxMessage]:
    return {m.member_id: m for m in await OutboxMessage.all()}  # type: ignore[misc]


async def test_todays_solar_and_lunar_birthdays_only(db: None, programme: Programme) -> None:
    solar = await member(solar=(11, 23))
    lunar = await member(lunar=(10, 15, False))
    await member(solar=(11, 24))
    await member(lunar=(10, 16, False))
    # Lunar birthday kept: the solar date of birth is not what they celebrate.
    await member(solar=(11, 23), lunar=(3, 3, False))
    await member(solar=(11, 23), status=MemberStatus.UNFOLLOWED)
    await member(solar=(11, 23), status=MemberStatus.BLOCKED)
    await member(solar=(11, 23), consent=False)

    counts = await greet_birthdays(DAY, programme=programme, now=NOW, gifts=ledger_gifts(programme))

    rows = await outbox()
    assert set(rows) == {solar.id, lunar.id}
    assert counts["found"] == 2 and counts["birthdays"] == 2
    greeting = rows[solar.id]
    assert greeting.idempotency_key == f"greeting:{solar.id}:2026-11-23"
    assert greeting.kind == "birthday"
    await solar.refresh_from_db()
    assert solar.points_balance == 50  # the taste tier's birthday gift
    assert "50" in str(greeting.payload)


async def test_running_twice_greets_and_gifts_once(db: None, programme: Programme) -> None:
    m = await member(solar=(11, 23), tier="gold")
    gifts = ledger_gifts(programme)
    first = await greet_birthdays(DAY, programme=programme, now=NOW, gifts=gifts)
    second = await greet_birthdays(DAY, programme=programme, now=NOW, gifts=gifts)
    assert first["queued"] == 1 and "already" not in first
    assert second == {"found": 1, "birthdays": 1, "already": 1}
    assert await OutboxMessage.filter(member_id=m.id).count() == 1
    await m.refresh_from_db()
    assert m.points_balance == 300


async def test_window_chooses_customer_service_else_template(
    db: None, programme: Programme
) -> None:
    three_hours = NOW - timedelta(hours=3)
    recent = await member(
        solar=(11, 23), last_interaction_at=three_hours, last_message_at=three_hours
    )
    silent = await member(
        solar=(11, 23),
        last_interaction_at=NOW - timedelta(days=5),
        last_message_at=NOW - timedelta(days=5),
    )
    await greet_birthdays(DAY, programme=programme, now=NOW, gifts=ledger_gifts(programme))
    rows = await outbox()
    assert rows[recent.id].channel is OutboxChannel.CUSTOM
    assert rows[recent.id].payload["msgtype"] == "text"
    # If WeChat says the window closed after all, the worker has a template to fall back to.
    assert rows[recent.id].payload["fallback"]["template_id"] == "demo-tmpl-birthday"
    assert rows[silent.id].channel is OutboxChannel.TEMPLATE
    assert rows[silent.id].payload["template_id"] == "demo-tmpl-birthday"
    assert rows[silent.id].status is OutboxStatus.QUEUED


async def test_no_window_and_no_template_recorded_as_skipped(
    db: None, programme: Programme
) -> None:
    no_templates = dataclasses.replace(programme, templates=())
    m = await member(solar=(11, 23))
    counts = await greet_birthdays(
        DAY, programme=no_templates, now=NOW, gifts=ledger_gifts(programme)
    )
    row = (await outbox())[m.id]
    assert row.status is OutboxStatus.SKIPPED
    assert row.last_error is not None and row.last_error.startswith("skipped: no channel")
    assert counts["skipped"] == 1


async def test_quiet_hours_wait_and_are_not_handed_to_workers(
    db: None, programme: Programme
) -> None:
    m = await member(solar=(11, 23))
    late = NOW.replace(hour=22)
    handed: list[int] = []

    async def queued(ids: Sequence[int]) -> None:
        handed.extend(ids)

    await greet_birthdays(
        DAY,
        programme=programme,
        now=late,
        gifts=ledger_gifts(programme),
        outbox=Outbox(programme, queued),
    )
    row = (await outbox())[m.id]
    assert row.not_before == datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    assert handed == []
    # In daytime the rows are handed over at once.
    other = await member(solar=(11, 23))
    await greet_birthdays(
        DAY,
        programme=programme,
        now=NOW,
        gifts=ledger_gifts(programme),
        outbox=Outbox(programme, queued),
    )
    assert handed == [(await outbox())[other.id].id]


async def test_birthday_on_a_festival_is_one_combined_message(
    db: None, programme: Programme
) -> None:
    assert to_lunar(MID_AUTUMN).month == 8 and to_lunar(MID_AUTUMN).day == 15
    now = datetime(2026, 9, 25, 10, 0, tzinfo=TZ)
    wrote = now - timedelta(hours=1)  # the window is open: the message goes as text
    both = await member(solar=(9, 25), tier="silver", last_message_at=wrote)
    plain = await member(tier="silver", last_message_at=wrote)
    gifts = ledger_gifts(programme)
    festival_first = await greet_festivals(MID_AUTUMN, programme=programme, now=now, gifts=gifts)
    birthday_after = await greet_birthdays(MID_AUTUMN, programme=programme, now=now, gifts=gifts)
    assert festival_first["festivals"] == 1 and festival_first["queued"] == 2
    assert birthday_after == {"found": 1, "birthdays": 1, "already": 1}
    rows = await outbox()
    assert set(rows) == {both.id, plain.id}
    combined = rows[both.id]
    assert combined.kind == "birthday"
    text = str(combined.payload)
    assert "中秋" in text and "生日快乐" in text
    assert "生日" not in str(rows[plain.id].payload)
    await both.refresh_from_db()
    await plain.refresh_from_db()
    assert both.points_balance == 100 + 50  # silver birthday gift + silver mid-autumn gift
    assert plain.points_balance == 50


async def test_birthday_job_first_on_a_festival_gives_the_same_combined_message(
    db: None, programme: Programme
) -> None:
    now = datetime(2026, 9, 25, 10, 0, tzinfo=TZ)
    wrote = now - timedelta(hours=1)
    both = await member(solar=(9, 25), language="en", last_message_at=wrote)
    gifts = ledger_gifts(programme)
    await greet_birthdays(MID_AUTUMN, programme=programme, now=now, gifts=gifts)
    again = await greet_festivals(MID_AUTUMN, programme=programme, now=now, gifts=gifts)
    assert again["already"] == 1
    row = (await outbox())[both.id]
    text = row.payload["text"]
    assert text.startswith("Happy Mid-Autumn Festival!") and "Happy birthday" in text
    # Outside the window it would go as the birthday template, its fields filled.
    assert row.payload["fallback"]["template_id"] == "demo-tmpl-birthday"
    assert row.payload["fallback"]["data"]["thing1"] == "王芳"


async def test_no_festival_no_festival_greetings(db: None, programme: Programme) -> None:
    await member()
    counts = await greet_festivals(DAY, programme=programme, now=NOW, gifts=ledger_gifts(programme))
    assert counts == {"festivals": 0}
    assert await OutboxMessage.all().count() == 0


async def test_lunar_leap_and_30th_birthdays_found_by_the_rules(
    db: None, programme: Programme
) -> None:
    # 2025-08-03 is 闰六月初十 (2025 has 闰六月); 2026-07-23 is the ordinary 六月初十 of 2026.
    leap_born = await member(lunar=(6, 10, True))
    ordinary = await member(lunar=(6, 10, False))
    gifts = ledger_gifts(programme)
    await greet_birthdays(date(2025, 8, 3), programme=programme, now=NOW, gifts=gifts)
    assert set(await outbox()) == {leap_born.id}
    ordinary_day = date(2025, 7, 4)
    assert to_lunar(ordinary_day) == to_lunar(ordinary_day).__class__(2025, 6, 10, False)
    await greet_birthdays(ordinary_day, programme=programme, now=NOW, gifts=gifts)
    assert set(await outbox()) == {leap_born.id, ordinary.id}
    # 2026 has no leap sixth month: both greet on the ordinary 六月初十.
    await OutboxMessage.all().delete()
    in_2026 = date(2026, 7, 23)
    assert to_lunar(in_2026).month == 6 and to_lunar(in_2026).day == 10
    await greet_birthdays(in_2026, programme=programme, now=NOW, gifts=gifts)
    assert set(await outbox()) == {leap_born.id, ordinary.id}


async def test_lunar_30th_greets_on_the_29th_and_the_gift_counts_the_lunar_year(
    db: None, programme: Programme
) -> None:
    from club.db.models.ledger import LedgerEntry

    born_30th = await member(lunar=(12, 30, False))
    eve = date(2025, 1, 28)  # 腊月廿九, the last day of lunar 2024's twelfth month
    await greet_birthdays(eve, programme=programme, now=NOW, gifts=ledger_gifts(programme))
    assert set(await outbox()) == {born_30th.id}
    refs: list[Any] = await LedgerEntry.filter(member_id=born_30th.id).values_list("ref", flat=True)
    assert list(refs) == [f"birthday:{born_30th.id}:2024"]


async def test_two_festival_runs_at_once_greet_and_gift_each_member_once(
    db: None, programme: Programme
) -> None:
    # Three batches of members; both runs read the same members and race to record them.
    from club.db.models.ledger import LedgerEntry
    from club.greetings.service import BATCH

    now = datetime(2026, 9, 25, 10, 0, tzinfo=TZ)
    joined = NOW - timedelta(days=30)
    await Member.bulk_create(
        [
            Member(
                openid=f"oRace{i:06d}",
                status=MemberStatus.ACTIVE,
                consent_at=joined,
                joined_at=joined,
                tier="silver",  # 50 points on 中秋
                birthday_mmdd=925 if i % 500 == 0 else None,
            )
            for i in range(2 * BATCH + 300)
        ]
    )
    member_ids = sorted(await Member.all().values_list("id", flat=True))
    handed: list[int] = []

    async def queued(ids: Sequence[int]) -> None:
        handed.extend(ids)
        await asyncio.sleep(0)

    gifts = ledger_gifts(programme)
    runs = await asyncio.gather(
        *(
            greet_festivals(
                MID_AUTUMN,
                programme=programme,
                now=now,
                gifts=gifts,
                outbox=Outbox(programme, queued),
            )
            for _ in range(2)
        )
    )
    assert sum(run["found"] for run in runs) == 2 * len(member_ids)
    rows: list[Any] = await OutboxMessage.all().values_list("member_id", "id")
    assert sorted(m for m, _ in rows) == member_ids  # every member, none twice
    ids = sorted(i for _, i in rows)
    if ON_POSTGRES:
        assert sorted(handed) == ids  # each row handed on by the run that inserted it
    else:
        assert set(handed) == set(ids)  # read back by key: a row may be handed on twice
    refs: list[Any] = await LedgerEntry.filter(ref__startswith="festival:").values_list(
        "member_id", flat=True
    )
    assert sorted(refs) == member_ids
    balances = await Member.all().values_list("points_balance", flat=True)
    assert set(balances) == {50, 150}  # 中秋 gift, and the silver birthday gift of 100 on top
    again = await greet_festivals(MID_AUTUMN, programme=programme, now=now, gifts=gifts)
    assert again["already"] == len(member_ids) and "queued" not in again
