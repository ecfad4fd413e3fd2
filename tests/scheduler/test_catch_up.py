"""Catch-up at start-up, with fixed clocks: what a stopped scheduler missed, what it never replays.

The demo programme: birthdays and festivals at 10:00, expiry at 03:00, the tier review on the 1st.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.deps import DEPS
from club.clock import FixedClock
from club.db.models.jobs import JobRun, JobStatus
from club.db.models.ledger import PointsLot
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.points import ledger as points
from club.programme import Programme, TierReview, load_programme
from club.rules.kinds import EntryKind
from scheduler.app import Runtime, catch_up
from scheduler.runner import Outcome

TZ = ZoneInfo("Asia/Shanghai")
App = TestClient[web.Request, web.Application]


def runtime(client: App, programme: Programme | None = None) -> Runtime:
    deps = client.app[DEPS]
    programme = programme or load_programme(None)
    return Runtime(dataclasses.replace(deps, programme=programme))


def review_on(day_of_month: int) -> Programme:
    demo = load_programme(None)
    return replace(demo, tier_review=TierReview(day_of_month=day_of_month, months=12))


async def ran(job: str) -> list[date]:
    runs = await JobRun.filter(job=job, status=JobStatus.DONE).order_by("day")
    return [r.day for r in runs]


async def member(openid: str, now: datetime, birthday: date | None = None) -> Member:
    return await Member.create(
        openid=openid,
        status=MemberStatus.ACTIVE,
        consent_at=now - timedelta(days=400),
        joined_at=now - timedelta(days=400),
        tier="taste",
        birthday_mmdd=birthday.month * 100 + birthday.day if birthday else None,
        last_interaction_at=now - timedelta(hours=1),
        last_message_at=now - timedelta(hours=1),
    )


async def test_this_months_review_runs_once_when_its_day_has_passed(
    client: App, clock: FixedClock
) -> None:
    rt = runtime(client, review_on(15))
    clock.set(datetime(2026, 11, 14, 23, 0, tzinfo=TZ))
    await JobRun.create(
        job="tier-review", day=date(2026, 10, 15), status=JobStatus.DONE, started_at=clock.now()
    )
    assert "tier-review" not in {r.job for r in await catch_up(rt)}  # the 15th has not come

    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=TZ))  # down on the 15th, back on the 20th
    results = {r.job: r for r in await catch_up(rt)}
    assert results["tier-review"].outcome is Outcome.DONE
    assert results["tier-review"].day == date(2026, 11, 15)
    assert await ran("tier-review") == [date(2026, 10, 15), date(2026, 11, 15)]

    for later in (datetime(2026, 11, 20, 9, 5, tzinfo=TZ), datetime(2026, 12, 3, 9, 0, tzinfo=TZ)):
        clock.set(later)
        assert "tier-review" not in {r.job for r in await catch_up(rt)}
    assert await ran("tier-review") == [date(2026, 10, 15), date(2026, 11, 15)]


async def test_a_review_missed_last_month_runs_before_this_months_day(
    client: App, clock: FixedClock
) -> None:
    rt = runtime(client, review_on(28))
    await JobRun.create(
        job="tier-review", day=date(2026, 10, 28), status=JobStatus.DONE, started_at=clock.now()
    )
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=TZ))  # down on 28 November, back on 2 December
    results = {r.job: r for r in await catch_up(rt)}
    assert results["tier-review"].day == date(2026, 11, 28)
    assert results["tier-review"].outcome is Outcome.DONE


async def test_a_review_run_by_hand_since_the_last_review_day_is_not_repeated(
    client: App, clock: FixedClock
) -> None:
    rt = runtime(client, review_on(1))
    # Missed on 1 November, then run by hand (`python -m scheduler run tier-review`) on the 3rd.
    await JobRun.create(
        job="tier-review", day=date(2026, 11, 3), status=JobStatus.DONE, started_at=clock.now()
    )
    clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=TZ))
    assert "tier-review" not in {r.job for r in await catch_up(rt)}
    assert await ran("tier-review") == [date(2026, 11, 3)]


async def test_a_failed_review_is_resumed(client: App, clock: FixedClock) -> None:
    rt = runtime(client, review_on(1))
    await JobRun.create(
        job="tier-review", day=date(2026, 11, 1), status=JobStatus.FAILED, started_at=clock.now()
    )
    clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=TZ))
    results = {r.job: r for r in await catch_up(rt)}
    assert results["tier-review"].outcome is Outcome.DONE
    assert (await JobRun.get(job="tier-review", day=date(2026, 11, 1))).attempts == 2


async def test_expiry_after_days_down_is_one_run_that_covers_them(
    client: App, clock: FixedClock
) -> None:
    rt = runtime(client)
    down_since = datetime(2026, 11, 20, 2, 0, tzinfo=TZ)  # last run on the 19th
    await JobRun.create(
        job="expire-points", day=date(2026, 11, 19), status=JobStatus.DONE, started_at=down_since
    )
    someone = await member("oExpiry0001", down_since)
    for ref, expires in (
        ("t:20", datetime(2026, 11, 20, 12, 0, tzinfo=TZ)),
        ("t:22", datetime(2026, 11, 22, 12, 0, tzinfo=TZ)),
        ("t:dec", datetime(2026, 12, 10, 12, 0, tzinfo=TZ)),
    ):
        await points.credit(
            someone.id,
            10,
            kind=EntryKind.BONUS,
            ref=ref,
            reason=ref,
            now=down_since - timedelta(days=300),
            expires_at=expires,
        )

    # Back at 01:00 on the 23rd, before today's 03:00 run: yesterday's run is the one missed.
    clock.set(datetime(2026, 11, 23, 1, 0, tzinfo=TZ))
    results = {r.job: r for r in await catch_up(rt)}
    expiry = results["expire-points"]
    assert expiry.outcome is Outcome.DONE and expiry.day == date(2026, 11, 22)
    assert expiry.counts["lots"] == 2 and expiry.counts["points"] == 20
    assert expiry.counts["reminders"] == 1  # 10 December is within 30 days
    assert await ran("expire-points") == [date(2026, 11, 19), date(2026, 11, 22)]
    assert await PointsLot.filter(member_id=someone.id, remaining__gt=0).count() == 1
    assert (await Member.get(id=someone.id)).points_balance == 10

    assert "expire-points" not in {r.job for r in await catch_up(rt)}
    clock.set(datetime(2026, 11, 23, 3, 30, tzinfo=TZ))
    again = {r.job: r for r in await catch_up(rt)}
    assert again["expire-points"].day == date(2026, 11, 23)
    assert again["expire-points"].counts["reminders"] == 0  # one reminder per expiry date


async def test_missed_birthdays_and_festivals_are_never_replayed(
    client: App, clock: FixedClock
) -> None:
    rt = runtime(client)
    national_day = datetime(2026, 10, 1, 9, 0, tzinfo=TZ)  # 国庆, a solar festival
    await member("oBirthday0930", national_day, birthday=date(1990, 9, 30))
    await member("oBirthday1001", national_day, birthday=date(1991, 10, 1))
    await member("oBirthday1002", national_day, birthday=date(1992, 10, 2))

    # Down from the 30th to the morning of 2 October, back after 10:00.
    clock.set(datetime(2026, 10, 2, 10, 30, tzinfo=TZ))
    results = {r.job: r for r in await catch_up(rt)}
    assert results["birthday"].day == date(2026, 10, 2)
    assert results["festival"].day == date(2026, 10, 2)
    assert await ran("birthday") == [date(2026, 10, 2)]
    assert await ran("festival") == [date(2026, 10, 2)]
    greeted = await OutboxMessage.filter(kind__in=("birthday", "festival")).values_list(
        "openid", "kind"
    )
    assert greeted == [("oBirthday1002", "birthday")]

    # Back before 10:00 on a day: nothing to greet yet (the 10:00 trigger will).
    clock.set(datetime(2026, 10, 3, 9, 59, tzinfo=TZ))
    assert not {"birthday", "festival"} & {r.job for r in await catch_up(rt)}


async def test_on_the_festival_itself_the_catch_up_greets(client: App, clock: FixedClock) -> None:
    rt = runtime(client)
    clock.set(datetime(2026, 10, 1, 13, 0, tzinfo=TZ))
    await member("oFestival0001", clock.now())
    results = {r.job: r for r in await catch_up(rt)}
    assert results["festival"].outcome is Outcome.DONE
    kinds = await OutboxMessage.filter(openid="oFestival0001").values_list("kind", flat=True)
    assert kinds == ["festival"]
