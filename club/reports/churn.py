"""The churn early-warning report: who is drifting away, and why, from the daily churn-scan.

The summary counts the flagged members by reason, by value class (an A member drifting is the
costliest) and by tier; the rows list them, most valuable first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from club.reports.filters import ReportFilter
from club.reports.members import as_date, population, population_params
from club.reports.sql import fetch, read_connection


class Reason(StrEnum):
    ALL = "all"
    SILENT = "silent"
    SPEND_FELL = "spend_fell"


_REASON_WHERE = {
    Reason.ALL: "1 = 1",
    Reason.SILENT: "mc.silent = :yes",
    Reason.SPEND_FELL: "mc.spend_fell = :yes",
}


@dataclass(frozen=True)
class ChurnGroup:
    by: str
    """`class` or `tier`."""
    key: str | None
    members: int


@dataclass(frozen=True)
class ChurnRow:
    member_id: int
    name: str | None
    tier: str | None
    value_class: str | None
    since: date
    purchases: int
    rhythm_days: int | None
    silence_days: int
    spend_fen: int
    spend_before_fen: int
    silent: bool
    spend_fell: bool
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class ChurnReport:
    as_of: date | None
    flagged: int
    silent: int
    spend_fell: int
    new_in_period: int
    """Flagged first on a day of the period."""
    groups: list[ChurnGroup]
    rows: list[ChurnRow]


async def churn_report(
    flt: ReportFilter, *, reason: Reason, limit: int, offset: int
) -> ChurnReport:
    conn = read_connection()
    where = population(flt, "mc.member_id")
    params = {**population_params(flt), "yes": True}
    joins = (
        " FROM member_churn mc JOIN member m ON m.id = mc.member_id"
        " LEFT JOIN member_value mv ON mv.member_id = mc.member_id"
    )
    groups = await fetch(
        "SELECT 'class' AS by_what, mv.value_class AS key, COUNT(*) AS members,"
        " SUM(CASE WHEN mc.silent = :yes THEN 1 ELSE 0 END) AS silent,"
        " SUM(CASE WHEN mc.spend_fell = :yes THEN 1 ELSE 0 END) AS fell,"
        " SUM(CASE WHEN mc.since >= :start_day AND mc.since <= :end_day THEN 1 ELSE 0 END)"
        f" AS new, MAX(mc.day) AS as_of {joins} WHERE {where} GROUP BY mv.value_class"
        " UNION ALL SELECT 'tier', m.tier, COUNT(*), 0, 0, 0, MAX(mc.day)"
        f" {joins} WHERE {where} GROUP BY m.tier",
        {**params, "start_day": flt.start_day, "end_day": flt.end_day},
        conn=conn,
    )
    rows = await fetch(
        "SELECT mc.member_id, m.name, m.tier, mv.value_class, mc.since, mc.purchases,"
        " mc.rhythm_days, mc.silence_days, mc.spend_fen, mc.spend_before_fen, mc.silent,"
        f" mc.spend_fell, mc.reason_zh, mc.reason_en {joins}"
        f" WHERE {where} AND {_REASON_WHERE[reason]}"
        " ORDER BY CASE WHEN mv.value_class IS NULL THEN 'Z' ELSE mv.value_class END,"
        " mc.spend_before_fen + mc.spend_fen DESC, mc.member_id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
        conn=conn,
    )
    by_class = [g for g in groups if g["by_what"] == "class"]
    return ChurnReport(
        as_of=max((as_date(g["as_of"]) for g in groups), default=None),
        flagged=sum(int(g["members"]) for g in by_class),
        silent=sum(int(g["silent"] or 0) for g in by_class),
        spend_fell=sum(int(g["fell"] or 0) for g in by_class),
        new_in_period=sum(int(g["new"] or 0) for g in by_class),
        groups=sorted(
            (ChurnGroup(str(g["by_what"]), g["key"], int(g["members"])) for g in groups),
            key=lambda g: (g.by, g.key or "~"),
        ),
        rows=[
            ChurnRow(
                member_id=int(r["member_id"]),
                name=r["name"],
                tier=r["tier"],
                value_class=r["value_class"],
                since=as_date(r["since"]),
                purchases=int(r["purchases"]),
                rhythm_days=None if r["rhythm_days"] is None else int(r["rhythm_days"]),
                silence_days=int(r["silence_days"]),
                spend_fen=int(r["spend_fen"]),
                spend_before_fen=int(r["spend_before_fen"]),
                silent=bool(r["silent"]),
                spend_fell=bool(r["spend_fell"]),
                reason_zh=str(r["reason_zh"]),
                reason_en=str(r["reason_en"]),
            )
            for r in rows
        ],
    )
