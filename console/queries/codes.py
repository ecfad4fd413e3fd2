"""Bottle-code batches as the console lists them, and one batch's codes for the printer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import Tortoise

from club.codes.codegen import format_code
from club.db.models.catalog import BottleCode, CodeBatch


@dataclass(frozen=True)
class BatchRow:
    id: int
    name: str
    points: int
    count: int
    used: int
    created_at: datetime


async def batches(limit: int = 100) -> list[BatchRow]:
    """The latest batches with how many of their codes members have used (one query)."""
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT b.id, b.name, b.points, b.count, b.created_at, "
        "(SELECT count(*) FROM bottle_code c WHERE c.batch_id = b.id "
        "AND c.used_by_id IS NOT NULL) AS used "
        "FROM code_batch b ORDER BY b.id DESC LIMIT " + str(int(limit))
    )
    return [
        BatchRow(
            id=int(r["id"]),
            name=str(r["name"]),
            points=int(r["points"]),
            count=int(r["count"]),
            used=int(r["used"]),
            created_at=_aware(r["created_at"]),
        )
        for r in rows
    ]


def _aware(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def batch_codes(batch_id: int) -> tuple[str, int, list[str]] | None:
    """The batch's name, points and codes in printed form, in creation order; None if unknown."""
    batch = await CodeBatch.get_or_none(id=batch_id)
    if batch is None:
        return None
    codes = await BottleCode.filter(batch_id=batch_id).order_by("id").values_list("code", flat=True)
    return batch.name, batch.points, [format_code(str(c)) for c in codes]
