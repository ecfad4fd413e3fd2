"""Jinja filters for what pages print often: money in yuan, points, times in the club's zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

CLUB_TZ = ZoneInfo("Asia/Shanghai")


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals: 12345 -> '123.45' (no float on the way)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def number(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def when(value: datetime | date | None, tz: ZoneInfo = CLUB_TZ) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


FILTERS: dict[str, Callable[..., Any]] = {"yuan": yuan, "number": number, "when": when}
