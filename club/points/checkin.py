"""Daily check-in (签到): once per member per local day, with a streak bonus.

Idempotent twice over: the check-in row is unique per (member, day) and its points movement is
unique per ref `checkin:<member>:<date>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from club.db.models.ledger import CheckIn
from club.db.models.members import Member
from club.points import ledger as points
from club.points.caps import capped_credit
from club.points.ops import lock_member
from club.rules import reasons
from club.rules.earning import checkin_points, checkin_streak
from club.rules.expiry import expires_at
from club.rules.kinds import EntryKind
from club.rules.programme import Programme
from club.rules.standing import MemberBlocked, is_blocked


@dataclass(frozen=True)
class CheckinResult:
    member_id: int
    day: date
    streak: int
    points: int
    bonus: int
    balance: int
    already: bool = field(default=False, compare=False)
    """True when the member had already checked in today (nothing was added)."""
    capped: bool = field(default=False, compare=False)
    """The earning cap cut today's points (`points` and `bonus` are what was credited)."""


async def _existing(member_id: int, day: date) -> CheckinResult | None:
    row = await CheckIn.filter(member_id=member_id, day=day).first()
    if row is None:
        return None
    member = await Member.get(id=member_id)
    return CheckinResult(
        member_id, day, row.streak, row.points, row.bonus, member.points_balance, already=True
    )


async def check_in(member_id: int, now: datetime, programme: Programme) -> CheckinResult:
    """Check the member in for today (the club's day of `now`); MemberBlocked for a member the
    club blocked. The earning caps may cut the points (`capped`)."""
    day = now.date()
    existing = await _existing(member_id, day)
    if existing is not None:
        return existing
    try:
        async with in_transaction() as conn:
            # The member lock makes a double tap wait, then find today's row.
            standing = await lock_member(conn, member_id)
            status = await Member.filter(id=member_id).using_db(conn).values_list("status")
            if is_blocked(status[0][0]):
                raise MemberBlocked(member_id)
            if await CheckIn.filter(member_id=member_id, day=day).using_db(conn).exists():
                raise _AlreadyToday
            yesterday = (
                await CheckIn.filter(member_id=member_id, day=day - timedelta(days=1))
                .using_db(conn)
                .first()
            )
            streak = checkin_streak(yesterday.streak if yesterday else None)
            daily, bonus = checkin_points(streak, programme.earning)
            capped = await capped_credit(
                member_id, daily + bonus, programme.earning_caps, now, conn
            )
            if capped.cap is not None:
                daily, bonus = min(daily, capped.points), max(0, capped.points - daily)
            await CheckIn.create(
                using_db=conn,
                member_id=member_id,
                day=day,
                streak=streak,
                points=daily,
                bonus=bonus,
                created_at=now,
            )
            balance = standing.balance
            if daily + bonus > 0:
                form = "checkin_bonus" if bonus else "checkin"
                reason = capped.reason(reasons.write(form, days=streak))
                movement = await points.credit(
                    member_id,
                    daily + bonus,
                    kind=EntryKind.BONUS,
                    ref=f"checkin:{member_id}:{day.isoformat()}",
                    reason=reason,
                    now=now,
                    expires_at=expires_at(now, programme.expiry),
                    connection=conn,
                )
                balance = movement.balance_after
    except (IntegrityError, _AlreadyToday):
        again = await _existing(member_id, day)
        if again is None:
            raise
        return again
    return CheckinResult(
        member_id, day, streak, daily, bonus, balance, capped=capped.cap is not None
    )


class _AlreadyToday(Exception):
    """Raised inside the transaction to leave it without changes."""
