"""The dashboard's figures: one query per panel, each answered from an index on PostgreSQL.

Days are the club's days: rows are grouped by whole days counted from the epoch after shifting
by the club's UTC offset (China keeps one offset all year; elsewhere a day next to a clock change
is off by an hour at its edges, which a 30-day chart does not show).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

DAYS = 30
SECONDS_A_DAY = 86_400


@dataclass(frozen=True)
class DaySeries:
    days: tuple[date, ...]
    values: dict[str, list[int]]
    """Series name -> one value a day, oldest first."""

    def total(self, name: str) -> int:
        return sum(self.values.get(name, ()))


@dataclass(frozen=True)
class Dashboard:
    members_by_tier: dict[str | None, int]
    """Joined members who follow the account, a tier (None: no tier set yet, i.e. the lowest)."""
    followers_not_joined: int
    growth: DaySeries
    """`joined` and `unfollowed` a day."""
    points: DaySeries
    """`issued`, `redeemed` and `expired` points a day (all positive numbers)."""
    messages: dict[str, dict[str, int]]
    """Channel -> outbox status -> messages created in the period."""
    templates_sent_today: int
    first_day: date
    today: date
    extra: dict[str, int] = field(default_factory=dict)


def _conn() -> BaseDBAsyncClient:
    return Tortoise.get_connection("default")


def _day_expr(column: str, postgres: bool) -> str:
    if postgres:
        return f"floor((extract(epoch from {column}) + $2) / {SECONDS_A_DAY})::bigint"
    return f"CAST((strftime('%s', {column}) + ?) / {SECONDS_A_DAY} AS INTEGER)"


def _p(postgres: bool, n: int) -> str:
    return f"${n}" if postgres else "?"


async def _per_day(
    conn: BaseDBAsyncClient, sql_for: str, since: datetime, offset_s: int, postgres: bool
) -> list[dict[str, object]]:
    # PostgreSQL numbers its parameters ($1 the period's start, $2 the offset); SQLite takes
    # them in the order they appear (the day expression comes first).
    params: list[object] = [since, offset_s] if postgres else [offset_s, since]
    rows: list[dict[str, object]] = await conn.execute_query_dict(sql_for, params)
    return rows


def _series(
    rows: list[dict[str, object]], names: tuple[str, ...], first: date, days: int
) -> DaySeries:
    epoch_first = (first - date(1970, 1, 1)).days
    values: dict[str, list[int]] = {name: [0] * days for name in names}
    for row in rows:
        index = int(str(row["day"])) - epoch_first
        name = str(row["series"])
        if name in values and 0 <= index < days:
            values[name][index] += int(str(row["n"]))
    return DaySeries(tuple(first + timedelta(days=i) for i in range(days)), values)


async def dashboard(now: datetime, days: int = DAYS) -> Dashboard:
    conn = _conn()
    postgres = conn.capabilities.dialect == "postgres"
    tz = now.tzinfo
    offset = now.utcoffset()
    offset_s = int(offset.total_seconds()) if offset is not None else 0
    today = now.date()
    first = today - timedelta(days=days - 1)
    # In UTC: SQLite compares stored times as text, which are written in UTC.
    since = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    day_of = _day_expr

    p1 = _p(postgres, 1)
    start_of_today = datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
    # The panels' queries are independent: on PostgreSQL they run at once, each on its own
    # pooled connection, so the page waits for the slowest rather than for the sum.
    (
        tiers,
        not_joined,
        joined_rows,
        unfollow_rows,
        points_rows,
        message_rows,
        templates,
    ) = await asyncio.gather(
        conn.execute_query_dict(
            "SELECT tier, count(*) AS n FROM member WHERE status = 'active' "
            "AND joined_at IS NOT NULL GROUP BY tier"
        ),
        conn.execute_query_dict(
            "SELECT count(*) AS n FROM member WHERE joined_at IS NULL AND status = 'active'"
        ),
        _per_day(
            conn,
            f"SELECT 'joined' AS series, {day_of('joined_at', postgres)} AS day, "
            f"count(*) AS n FROM member WHERE joined_at >= {p1} GROUP BY 2",
            since,
            offset_s,
            postgres,
        ),
        _per_day(
            conn,
            f"SELECT 'unfollowed' AS series, {day_of('at', postgres)} AS day, count(*) AS n "
            f"FROM follow_event WHERE kind = 'unsubscribe' AND at >= {p1} GROUP BY 2",
            since,
            offset_s,
            postgres,
        ),
        # Issued: what members were given; redeemed: spent on rewards less refunds.
        _per_day(
            conn,
            "SELECT CASE WHEN kind IN ('earn', 'bonus') OR (kind = 'adjust' AND points > 0) "
            "THEN 'issued' WHEN kind IN ('redeem', 'refund') THEN 'redeemed' "
            "WHEN kind = 'expire' THEN 'expired' ELSE 'other' END AS series, "
            f"{day_of('created_at', postgres)} AS day, sum(points) AS n "
            f"FROM ledger_entry WHERE created_at >= {p1} GROUP BY 1, 2",
            since,
            offset_s,
            postgres,
        ),
        conn.execute_query_dict(
            "SELECT channel, status, count(*) AS n FROM outbox_message "
            f"WHERE created_at >= {p1} GROUP BY channel, status",
            [since],
        ),
        # Sent today; queued up to two days before (quiet hours hold messages overnight),
        # so the created_at index bounds the rows read.
        conn.execute_query_dict(
            f"SELECT count(*) AS n FROM outbox_message WHERE created_at >= {p1} "
            f"AND channel = 'template' AND status = 'sent' AND sent_at >= {_p(postgres, 2)}",
            [start_of_today - timedelta(days=2), start_of_today],
        ),
    )
    growth_rows = joined_rows + unfollow_rows
    # Redemptions and expiry are debits: shown as positive amounts (net of refunds).
    points_rows = [
        {**row, "n": int(str(row["n"])) * (1 if row["series"] == "issued" else -1)}
        for row in points_rows
    ]
    messages: dict[str, dict[str, int]] = defaultdict(dict)
    for row in message_rows:
        messages[str(row["channel"])][str(row["status"])] = int(row["n"])
    return Dashboard(
        members_by_tier={r["tier"]: int(r["n"]) for r in tiers},
        followers_not_joined=int(not_joined[0]["n"]) if not_joined else 0,
        growth=_series(growth_rows, ("joined", "unfollowed"), first, days),
        points=_series(points_rows, ("issued", "redeemed", "expired"), first, days),
        messages=dict(messages),
        templates_sent_today=int(templates[0]["n"]) if templates else 0,
        first_day=first,
        today=today,
    )
