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
from club.reports.sql import Row, fetch, read_connection, union_rows


class Reason(StrEnum):
    ALL = "all"
    SILENT = "silent"
    SPEND_FELL = "spend_fell"


_REASON_WHERE = {
    Reason.ALL: "1 = 1",
    Reason.SILENT: "silent = :yes",
    Reason.SPEND_FELL: "spend_fell = :yes",
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


_ROW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_kind", "VARCHAR(8)"),
    ("by_what", "VARCHAR(8)"),
    ("key", "VARCHAR(32)"),
    ("members", "BIGINT"),
    ("silent_n", "BIGINT"),
    ("fell_n", "BIGINT"),
    ("new_n", "BIGINT"),
    ("as_of", "DATE"),
    ("member_id", "BIGINT"),
    ("name", "VARCHAR(64)"),
    ("tier", "VARCHAR(32)"),
    ("value_class", "VARCHAR(1)"),
    ("since", "DATE"),
    ("purchases", "INTEGER"),
    ("rhythm_days", "INTEGER"),
    ("silence_days", "INTEGER"),
    ("spend_fen", "BIGINT"),
    ("spend_before_fen", "BIGINT"),
    ("silent", "BOOLEAN"),
    ("spend_fell", "BOOLEAN"),
    ("reason_zh", "VARCHAR(255)"),
    ("reason_en", "VARCHAR(255)"),
)
_GROUP_ONLY = frozenset(
    ("row_kind", "by_what", "key", "members", "silent_n", "fell_n", "new_n", "as_of")
)
"""The columns only a `group` row fills."""
_FLAG_COLUMNS = (
    "since",
    "purchases",
    "rhythm_days",
    "silence_days",
    "spend_fen",
    "spend_before_fen",
    "silent",
    "spend_fell",
    "reason_zh",
    "reason_en",
)
"""A churn flag's own columns (`member_churn`)."""


def _of(table: str) -> str:
    return ", ".join(f"{table}.{column}" for column in _FLAG_COLUMNS)


def churn_sql(flt: ReportFilter, reason: Reason) -> str:
    """One query, as tagged rows: `group` rows (flagged members by value class, with the
    reasons' counts, and by tier) and `member` rows (a page of the flagged, most valuable
    first). The flagged members `flt` covers, with their tier and class, are found once
    (`flagged`, materialized): asked for a period, finding them is a purchase probe per flagged
    member, which each part of the report used to do again. Names are joined for the page."""
    where = population(flt, "mc.member_id")
    flagged = (
        "WITH flagged AS MATERIALIZED (SELECT mc.member_id, mc.day,"
        f" {_of('mc')},"
        " m.tier, mv.value_class FROM member_churn mc JOIN member m ON m.id = mc.member_id"
        f" LEFT JOIN member_value mv ON mv.member_id = mc.member_id WHERE {where}) "
    )
    by_class = {
        "row_kind": "'group'",
        "by_what": "'class'",
        "key": "value_class",
        "members": "COUNT(*)",
        "silent_n": "SUM(CASE WHEN silent = :yes THEN 1 ELSE 0 END)",
        "fell_n": "SUM(CASE WHEN spend_fell = :yes THEN 1 ELSE 0 END)",
        "new_n": "SUM(CASE WHEN since >= :start_day AND since <= :end_day THEN 1 ELSE 0 END)",
        "as_of": "MAX(day)",
    }
    by_tier = {
        "row_kind": "'group'",
        "by_what": "'tier'",
        "key": "tier",
        "members": "COUNT(*)",
        "as_of": "MAX(day)",
    }
    page = {name: f"page.{name}" for name, _ in _ROW_COLUMNS if name not in _GROUP_ONLY}
    page["row_kind"] = "'member'"
    page_tail = (
        f"FROM (SELECT f.member_id, m.name, f.tier, f.value_class, {_of('f')}"
        f" FROM (SELECT * FROM flagged WHERE {_REASON_WHERE[reason]} ORDER BY {PAGE_ORDER}"
        " LIMIT :limit OFFSET :offset) AS f JOIN member m ON m.id = f.member_id) AS page"
    )
    return flagged + union_rows(
        _ROW_COLUMNS,
        [
            ("FROM flagged GROUP BY value_class", by_class),
            ("FROM flagged GROUP BY tier", by_tier),
            (page_tail, page),
        ],
    )


PAGE_ORDER = (
    "CASE WHEN value_class IS NULL THEN 'Z' ELSE value_class END,"
    " spend_before_fen + spend_fen DESC, member_id"
)
"""The page's order: A first (no class last), then the spend of the two years."""


def _page_order(row: Row) -> tuple[str, int, int]:
    spend = int(row["spend_before_fen"]) + int(row["spend_fen"])
    return (row["value_class"] or "Z", -spend, int(row["member_id"]))


async def churn_report(
    flt: ReportFilter, *, reason: Reason, limit: int, offset: int
) -> ChurnReport:
    values = {
        **population_params(flt),
        "yes": True,
        "start_day": flt.start_day,
        "end_day": flt.end_day,
        "limit": limit,
        "offset": offset,
    }
    found = await fetch(churn_sql(flt, reason), values, conn=read_connection())
    groups = [r for r in found if r["row_kind"] == "group"]
    rows = sorted((r for r in found if r["row_kind"] == "member"), key=_page_order)
    by_class = [g for g in groups if g["by_what"] == "class"]
    return ChurnReport(
        as_of=max((as_date(g["as_of"]) for g in groups), default=None),
        flagged=sum(int(g["members"]) for g in by_class),
        silent=sum(int(g["silent_n"] or 0) for g in by_class),
        spend_fell=sum(int(g["fell_n"] or 0) for g in by_class),
        new_in_period=sum(int(g["new_n"] or 0) for g in by_class),
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
