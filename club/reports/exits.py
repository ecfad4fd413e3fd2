"""The exit report: where members leak, by month x tier x channel of origin, and what came before.

Each exit (an unfollow, or a follower going dormant) was recorded with the member's tier, value
class, tenure, origin and recent history of that moment (`club.value.exits`). The report counts
them by month, kind, tier and channel (the level of the store whose QR code brought the member,
`staff` for a clerk's code, `direct` otherwise), with the tenure at exit and the signals before
it: no purchase ever, a purchase in the 90 days before, a failed bottle code in the 7 days
before, a cancelled redemption or a service ticket in the 30 days before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from club.reports.filters import ReportFilter
from club.reports.sql import Dialect, fetch, read_connection

DAY_S = 86_400
SIGNALS: tuple[tuple[str, str, int | None], ...] = (
    ("never_purchased", "e.last_purchase_at", None),
    ("purchase_90d", "e.last_purchase_at", 90),
    ("failed_code_7d", "e.last_failed_code_at", 7),
    ("cancelled_redemption_30d", "e.last_cancelled_redemption_at", 30),
    ("complaint_30d", "e.last_complaint_at", 30),
)
"""(name, the exit's column, within how many days before the exit; None: never happened)."""
TENURE = (
    ("tenure_under_30d", 0, 30),
    ("tenure_30_90d", 30, 90),
    ("tenure_90_365d", 90, 365),
    ("tenure_over_365d", 365, None),
)


@dataclass(frozen=True)
class ExitCell:
    month: str
    kind: str
    tier: str | None
    channel: str
    exits: int
    avg_tenure_days: int
    never_purchased: int = 0
    purchase_90d: int = 0
    failed_code_7d: int = 0
    cancelled_redemption_30d: int = 0
    complaint_30d: int = 0


@dataclass(frozen=True)
class Count:
    key: str | None
    exits: int


@dataclass(frozen=True)
class ExitsReport:
    exits: int
    unfollows: int
    dormant: int
    by_class: list[Count]
    by_tenure: list[Count]
    signals: list[Count]
    cells: list[ExitCell] = field(default_factory=list)


def _sql(flt: ReportFilter, dialect: Dialect) -> str:
    at = dialect.epoch("e.at")

    def within(column: str, days: int) -> str:
        return f"({column} IS NOT NULL AND {at} - {dialect.epoch(column)} <= {days * DAY_S})"

    signals = [
        f"SUM(CASE WHEN {f'{column} IS NULL' if days is None else within(column, days)}"
        f" THEN 1 ELSE 0 END) AS {name}"
        for name, column, days in SIGNALS
    ]
    tenure = [
        f"SUM(CASE WHEN e.tenure_days >= {low}"
        + ("" if high is None else f" AND e.tenure_days < {high}")
        + f" THEN 1 ELSE 0 END) AS {name}"
        for name, low, high in TENURE
    ]
    where = "e.at >= :start AND e.at < :end"
    if flt.level is not None:
        where += " AND e.origin_level = :level"
    if flt.store is not None:
        where += " AND e.source_kind = 'store' AND e.source_ref = :store"
    channel = "COALESCE(e.origin_level, e.source_kind, 'direct')"
    return (
        f"SELECT {dialect.month('e.at')} AS month, e.kind, e.tier, {channel} AS channel,"
        " e.value_class, COUNT(*) AS exits, SUM(e.tenure_days) AS tenure,"
        f" {', '.join(signals)}, {', '.join(tenure)}"
        f" FROM member_exit e WHERE {where}"
        f" GROUP BY {dialect.month('e.at')}, e.kind, e.tier, {channel}, e.value_class"
    )


async def exits_report(flt: ReportFilter) -> ExitsReport:
    conn = read_connection()
    params: dict[str, object] = {"start": flt.start, "end": flt.end}
    if flt.level is not None:
        params["level"] = flt.level.value
    if flt.store is not None:
        params["store"] = flt.store
    rows = await fetch(_sql(flt, Dialect.of(conn)), params, conn=conn)
    cells: dict[tuple[str, str, str | None, str], tuple[ExitCell, int]] = {}
    by_class: dict[str | None, int] = {}
    sums: dict[str, int] = {}
    for row in rows:
        key = (str(row["month"]), str(row["kind"]), row["tier"], str(row["channel"]))
        n = int(row["exits"])
        by_class[row["value_class"]] = by_class.get(row["value_class"], 0) + n
        for name in [s for s, _, _ in SIGNALS] + [t for t, _, _ in TENURE]:
            sums[name] = sums.get(name, 0) + int(row[name] or 0)
        cell, tenure = cells.get(key, (ExitCell(*key, exits=0, avg_tenure_days=0), 0))
        signals = {s: getattr(cell, s) + int(row[s] or 0) for s, _, _ in SIGNALS}
        cells[key] = (replace(cell, exits=cell.exits + n, **signals), tenure + int(row["tenure"]))
    ordered = [
        replace(cell, avg_tenure_days=tenure // cell.exits)
        for cell, tenure in (cells[k] for k in sorted(cells, key=_order))
    ]
    kinds = {k: sum(c.exits for c in ordered if c.kind == k) for k in ("unfollow", "dormant")}
    return ExitsReport(
        exits=sum(c.exits for c in ordered),
        unfollows=kinds["unfollow"],
        dormant=kinds["dormant"],
        by_class=[Count(k, n) for k, n in sorted(by_class.items(), key=lambda i: i[0] or "~")],
        by_tenure=[Count(name, sums.get(name, 0)) for name, _, _ in TENURE],
        signals=[Count(name, sums.get(name, 0)) for name, _, _ in SIGNALS],
        cells=ordered,
    )


def _order(key: tuple[str, str, str | None, str]) -> tuple[str, str, str, str]:
    month, kind, tier, channel = key
    return (month, kind, tier or "", channel)
