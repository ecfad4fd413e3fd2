"""The jobs behind the scheduler: points expiry and reminders, tier review, what is offered."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from club.clock import FixedClock
from club.db.models.catalog import FailedCodeAttempt
from club.db.models.members import Member, MemberStatus
from club.db.models.outbox import OutboxMessage
from club.messaging.outbox import Outbox
from club.points import ledger as points
from club.programme import Programme, load_programme
from club.rewards.redemptions import create_reward, redeem
from club.rules.kinds import EntryKind
from scheduler.__main__ import main
from scheduler.jobs import JobContext, job_body


def context(programme: Programme, clock: FixedClock) -> JobContext:
    return JobContext(programme=programme, clock=clock, outbox=Outbox(programme))


async def enrolled(clock: FixedClock, *, tier: str = "taste", language: str = "zh") -> Member:
    now = clock.now()
    return await Member.create(
        openid=f"oJobs{tier}{language}",
        status=MemberStatus.ACTIVE,
        consent_at=now - timedelta(days=400),
        joined_at=now - timedelta(days=400),
        tier=tier,
        language=language,
        last_interaction_at=now - timedelta(hours=1),
        last_message_at=now - timedelta(hours=1),
    )


async def test_expiry_expires_and_reminds_once_per_expiry_date(db: None, clock: FixedClock) -> None:
    ctx = context(load_programme(None), clock)
    now = clock.now()
    member = await enrolled(clock)
    await points.credit(
        member.id,
        30,
        kind=EntryKind.BONUS,
        ref="t:old",
        reason="old",
        now=now - timedelta(days=400),
        expires_at=now - timedelta(hours=1),
    )
    await points.credit(
        member.id,
        80,
        kind=EntryKind.BONUS,
        ref="t:soon",
        reason="soon",
        now=now,
        expires_at=now + timedelta(days=20),
    )
    counts = await job_body("expire-points", ctx)(now.date())
    assert counts["lots"] == 1 and counts["points"] == 30 and counts["reminders"] == 1
    reminder = await OutboxMessage.get(member_id=member.id, kind="points_expiry")
    assert reminder.idempotency_key.startswith(f"expiry:{member.id}:")
    assert "80" in str(reminder.payload)
    await member.refresh_from_db()
    assert member.points_balance == 80

    # The next day: nothing more expires, and the same expiry date is not reminded again.
    clock.advance(timedelta(days=1))
    again = await job_body("expire-points", ctx)(clock.now().date())
    assert again["lots"] == 0 and again["reminders"] == 0
    assert await OutboxMessage.filter(member_id=member.id).count() == 1


async def test_points_a_voucher_refunds_into_a_lot_expiring_soon_are_reminded_the_same_day(
    db: None, clock: FixedClock
) -> None:
    """The voucher step ran after the reminders: its points, back in a lot that expires within
    the reminder days, were reminded of a day later (a day less for the member to spend them)."""
    programme = load_programme(None)
    ctx = context(programme, clock)
    now = clock.now()
    member = await enrolled(clock)
    redeemed = now - timedelta(days=30, hours=2)  # its voucher expired two hours ago
    await points.credit(
        member.id, 80, kind=EntryKind.BONUS, ref="t:lot", reason="lot", now=redeemed,
        expires_at=datetime(2026, 12, 3, tzinfo=now.tzinfo),  # the last valid day is 2 December
    )  # fmt: skip
    glass = await create_reward("酒杯", 80, redeemed, programme, cancel_window_hours=1)
    voucher = await redeem(member.id, glass.id, redeemed, "t:redeem", programme)

    counts = await job_body("expire-points", ctx)(now.date())

    assert (counts["vouchers_expired"], counts["voucher_points_returned"]) == (1, 80)
    assert counts["reminders"] == 1
    keys = (
        await OutboxMessage.filter(member_id=member.id)
        .order_by("id")
        .values_list("idempotency_key", flat=True)
    )
    assert keys == [f"voucher:{voucher.id}:expired", f"expiry:{member.id}:2026-12-02"]
    reminder = await OutboxMessage.get(member_id=member.id, kind="points_expiry")
    assert reminder.payload["text"] == "您有80积分将于12月2日后到期，记得及时兑换哦。"


async def test_expiry_also_deletes_failed_code_attempts_too_old_to_count(
    db: None, clock: FixedClock
) -> None:
    ctx = context(load_programme(None), clock)
    now = clock.now()
    member = await enrolled(clock)
    for age in (timedelta(days=9), timedelta(days=3), timedelta(hours=2)):
        await FailedCodeAttempt.create(member_id=member.id, at=now - age, outcome="unknown")
    counts = await job_body("expire-points", ctx)(now.date())
    assert counts["failed_code_attempts_deleted"] == 2
    assert await FailedCodeAttempt.all().values_list("at", flat=True) == [now - timedelta(hours=2)]
    again = await job_body("expire-points", ctx)(now.date())
    assert again["failed_code_attempts_deleted"] == 0


async def test_tier_review_downgrades_one_step_and_says_how_to_regain(
    db: None, clock: FixedClock
) -> None:
    programme = load_programme(None)
    ctx = context(programme, clock)
    member = await enrolled(clock, tier="gold")
    counts = await job_body("tier-review", ctx)(clock.now().date())
    assert counts == {"reviewed": 1, "upgraded": 0, "downgraded": 1, "queued": 1}
    await member.refresh_from_db()
    assert member.tier == "silver"  # one step, not to the bottom
    message = await OutboxMessage.get(member_id=member.id, kind="tier_change")
    gold = programme.tiers.get("gold")
    assert f"{gold.threshold_fen // 100}" in str(message.payload)
    assert gold.name_zh in str(message.payload)
    # Run again the same day: already told, nothing sent twice.
    await job_body("tier-review", ctx)(clock.now().date())
    assert await OutboxMessage.filter(member_id=member.id).count() == 1


async def test_a_review_stopped_before_the_message_leaves_the_tier_as_it_was(
    db: None, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tier change and its message commit together: a run that stops between the two would
    otherwise leave a moved member untold, and the re-run would see nothing to tell."""
    import club.messaging.outbox as writer

    ctx = context(load_programme(None), clock)
    member = await enrolled(clock, tier="gold")
    real = writer.insert_rows

    async def stops(*args: object, **kwargs: object) -> object:
        raise ConnectionError("the database went away mid-run")

    monkeypatch.setattr(writer, "insert_rows", stops)
    with pytest.raises(ConnectionError):
        await job_body("tier-review", ctx)(clock.now().date())
    await member.refresh_from_db()
    assert member.tier == "gold"  # rolled back with the message that failed
    assert await OutboxMessage.filter(member_id=member.id).count() == 0

    monkeypatch.setattr(writer, "insert_rows", real)
    counts = await job_body("tier-review", ctx)(clock.now().date())
    assert counts["downgraded"] == 1
    await member.refresh_from_db()
    assert member.tier == "silver"
    assert await OutboxMessage.filter(member_id=member.id, kind="tier_change").count() == 1


def test_the_run_command_offers_exactly_the_jobs_that_exist(
    clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    expected = (
        "birthday, festival, expire-points, tier-review, rank-ahead, value-refresh, churn-scan,"
        " automations"
    )
    assert expected.replace(" ", "") in shown.replace(" ", "")  # argparse may wrap at a hyphen
    assert "campaigns" not in shown
    with pytest.raises(LookupError, match="unknown job"):
        job_body("campaigns", context(load_programme(None), clock))


def test_unknown_job_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "birthdays"])
    assert exit_info.value.code == 2


async def test_tier_and_expiry_texts_come_from_the_programme_in_the_members_language(
    db: None, clock: FixedClock
) -> None:
    programme = load_programme(None)
    ctx = context(programme, clock)
    member = await enrolled(clock, tier="gold", language="en")
    await job_body("tier-review", ctx)(clock.now().date())
    message = await OutboxMessage.get(member_id=member.id, kind="tier_change")
    assert message.payload["text"] == (
        "Your tier is now Silver. Thank you for being with us. "
        "Spend 10000 yuan in 12 months to regain Gold."
    )
    now = clock.now()
    await points.credit(
        member.id, 80, kind=EntryKind.BONUS, ref="t:en", reason="soon", now=now,
        expires_at=now + timedelta(days=20),
    )  # fmt: skip
    await job_body("expire-points", ctx)(now.date())
    reminder = await OutboxMessage.get(member_id=member.id, kind="points_expiry")
    assert reminder.payload["text"].startswith("80 points will expire after 2026-12-1")
