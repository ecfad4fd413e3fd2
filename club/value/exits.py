"""Exits: a member unfollowing or going dormant, recorded with the context of that moment.

`record_unfollow_exit` is the unfollow's one extra statement on the callback's hot path: a
single INSERT ... SELECT reading the member, their stored value and the last purchase, failed
code, cancelled redemption and ticket by index. `record_dormant` is the daily scan's: followers
with no purchase, message or scan for the programme's dormant days, once per dormant spell.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from club.reports.sql import Dialect, execute
from club.rules.programme import Programme

COLUMNS = (
    "member_id, kind, at, last_active_at, tier, value_class, tenure_days, joined, source_kind,"
    " source_ref, origin_level, last_purchase_at, last_message_at, last_failed_code_at,"
    " last_cancelled_redemption_at, last_complaint_at"
)
DAY_S = 86_400


def _context(dialect: Dialect, last_purchase: str) -> str:
    """Everything after kind, at and last_active_at, from `member m` and `member_value mv`."""
    began = "COALESCE(m.joined_at, m.followed_at, m.created_at)"
    return (
        f"m.tier, mv.value_class, (:at_epoch - {dialect.epoch(began)}) / {DAY_S},"
        " m.joined_at IS NOT NULL, m.source_kind, m.source_ref,"
        " (SELECT s.channel_level FROM store s WHERE m.source_kind = 'store'"
        " AND s.id = m.source_ref),"
        f" {last_purchase}, m.last_message_at,"
        " (SELECT MAX(f.at) FROM failed_code_attempt f WHERE f.member_id = m.id),"
        " (SELECT MAX(r.cancelled_at) FROM redemption r WHERE r.member_id = m.id"
        " AND r.status = 'cancelled'),"
        f" {_last_complaint()}"
    )


def _last_complaint() -> str:
    """The member's last service ticket (人工客服), by the ticket's member index."""
    return "(SELECT MAX(t.opened_at) FROM ticket t WHERE t.member_id = m.id)"


async def record_unfollow_exit(conn: BaseDBAsyncClient, member_id: int, now: datetime) -> int:
    """In the unfollow's transaction: one row, the context read in the same statement."""
    dialect = Dialect.of(conn)
    last_purchase = "(SELECT MAX(p.created_at) FROM purchase p WHERE p.member_id = m.id)"
    at = dialect.time_param("at")
    return await execute(
        f"INSERT INTO member_exit ({COLUMNS}) SELECT m.id, 'unfollow', {at}, {at},"
        f" {_context(dialect, last_purchase)}"
        " FROM member m LEFT JOIN member_value mv ON mv.member_id = m.id WHERE m.id = :member",
        {"at": now, "at_epoch": int(now.timestamp()), "member": member_id},
        conn=conn,
    )


def _latest(dialect: Dialect, columns: list[str]) -> str:
    """The latest of several stored times (NULLs skipped), as the stored value itself."""
    result = columns[0]
    for column in columns[1:]:
        result = (
            f"(CASE WHEN {column} IS NOT NULL AND ({result} IS NULL"
            f" OR {dialect.epoch(column)} > {dialect.epoch(result)}) THEN {column}"
            f" ELSE {result} END)"
        )
    return result


async def record_dormant(
    conn: BaseDBAsyncClient, day: date, now: datetime, programme: Programme
) -> int:
    """Followers with no purchase, message or scan since the cutoff (now - dormant days): one
    exit per dormant spell, keyed by its last activity, so a rerun adds nothing. Reads the
    purchases by index for the few members past the cutoff, not the stored values (which may
    be a day old)."""
    dialect = Dialect.of(conn)
    last = _latest(dialect, ["m.last_interaction_at", "m.last_purchase", "m.joined_at"])
    quiet = (
        "SELECT m.*, (SELECT MAX(p.created_at) FROM purchase p WHERE p.member_id = m.id)"
        " AS last_purchase FROM member m WHERE m.status = 'active'"
        " AND COALESCE(m.last_interaction_at, m.joined_at, m.created_at) <= :cutoff"
        " AND (m.joined_at IS NULL OR m.joined_at <= :cutoff)"
        " AND NOT EXISTS (SELECT 1 FROM purchase p WHERE p.member_id = m.id"
        " AND p.created_at > :cutoff)"
    )
    return await execute(
        f"INSERT INTO member_exit ({COLUMNS}) SELECT m.id, 'dormant', {dialect.time_param('at')},"
        f" {last}, {_context(dialect, 'm.last_purchase')}"
        f" FROM ({quiet}) m LEFT JOIN member_value mv ON mv.member_id = m.id"
        " WHERE NOT EXISTS (SELECT 1 FROM member_exit e WHERE e.member_id = m.id"
        f" AND e.kind = 'dormant' AND e.last_active_at = {last})",
        {
            "at": now,
            "at_epoch": int(now.timestamp()),
            "cutoff": now - timedelta(days=programme.churn.dormant_days),
        },
        conn=conn,
    )
