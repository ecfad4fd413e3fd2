"""The day's template messages for campaigns: reserved before they are written, so two workers
never promise the same quota twice; marked spent when WeChat answers 45009 (never hammered)."""

from __future__ import annotations

from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from club.db.models.campaigns import TemplateQuotaDay
from club.db.raw import dialect, execute, rows

_ENSURE = "INSERT INTO template_quota_day (day, used) VALUES ($1, 0) ON CONFLICT (day) DO NOTHING"
_RESERVE_PG = """
WITH b AS (SELECT id, used FROM template_quota_day WHERE day = $1 AND spent_at IS NULL FOR UPDATE)
UPDATE template_quota_day t SET used = GREATEST(b.used, LEAST(b.used + $2, $3))
FROM b WHERE t.id = b.id
RETURNING t.used - b.used AS granted
"""


async def reserve(wanted: int, day: date, quota: int, conn: BaseDBAsyncClient) -> int:
    """Take up to `wanted` of the day's quota; how many were granted (0 once it is spent)."""
    if wanted <= 0:
        return 0
    await execute(_ENSURE, [day], conn)
    if dialect(conn) == "postgres":
        found = await rows(_RESERVE_PG, [day, wanted, quota], conn)
        return int(found[0]["granted"]) if found else 0
    row = await TemplateQuotaDay.filter(day=day).using_db(conn).get()
    if row.spent_at is not None:
        return 0
    granted = int(max(0, min(wanted, quota - row.used)))
    await TemplateQuotaDay.filter(id=row.id).using_db(conn).update(used=row.used + granted)
    return granted


async def mark_spent(day: date, now: datetime) -> None:
    await execute(_ENSURE, [day])
    await TemplateQuotaDay.filter(day=day, spent_at__isnull=True).update(spent_at=now)


async def status(day: date) -> tuple[int, bool]:
    """(used, spent) for the day."""
    row = await TemplateQuotaDay.get_or_none(day=day)
    return (0, False) if row is None else (row.used, row.spent_at is not None)
