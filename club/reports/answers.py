"""Each report's default answer, computed once a day and kept (`report_answer`).

The eight reports asked with their default parameters (the programme's value months up to
today, every level and store, the default list and its first 50 or 100 rows) aggregate millions of
purchases and members: over a second each at a million members. Their data changes once a day
(value-refresh, then churn-scan), so each of those runs computes the default answers with the
very functions a live request uses and replaces the stored ones (read, like every report, from
the replica when one is configured). The reports API serves a stored
answer only for exactly those parameters, as of the same day and programme; anything else (a
level, a store, a period, another list or page, or no answer stored yet) is computed live.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Any, get_type_hints

from tortoise import timezone
from tortoise.transactions import in_transaction

from club.db.models.value import ReportAnswer
from club.reports.channels import channels_report
from club.reports.churn import Reason, churn_report
from club.reports.classes import ChangeKind, classes_report
from club.reports.exits import exits_report
from club.reports.filters import ReportFilter
from club.reports.pareto import pareto_report
from club.reports.pareto_rows import Segment
from club.reports.quadrants import quadrants_report
from club.reports.rankings import default_filter
from club.reports.rfm import rfm_report
from club.reports.sql import read_connection
from club.reports.tiers import tiers_report
from club.rules.programme import Programme

log = logging.getLogger(__name__)

PAGES = (50, 100)
"""The pages a paged report keeps, first rows: the console's (50 rows) and the API's default
(100). A page is computed as asked, not cut from a longer one (the 80/20 report orders a page's
customers by level after taking them)."""

DEFAULT_CHOICE: dict[str, object] = {
    "pareto": Segment.ALL,
    "classes": ChangeKind.MOVED,
    "quadrants": None,
    "churn": Reason.ALL,
}
"""The list a paged report shows when none is asked for (the API's query defaults)."""

Compute = Callable[[ReportFilter, Programme, int, datetime], Awaitable[object]]
"""A paged report's first `n` rows as asked at a time."""

PAGED: dict[str, Compute] = {
    "pareto": lambda flt, p, n, now: pareto_report(
        flt, p.value, now=now, segment=Segment.ALL, limit=n, offset=0
    ),
    "rfm": lambda flt, p, n, now: rfm_report(flt, p.value.rfm_bins, limit=n, offset=0),
    "classes": lambda flt, p, n, now: classes_report(
        flt, change=ChangeKind.MOVED, limit=n, offset=0
    ),
    "quadrants": lambda flt, p, n, now: quadrants_report(flt, quadrant=None, limit=n, offset=0),
    "churn": lambda flt, p, n, now: churn_report(flt, reason=Reason.ALL, limit=n, offset=0),
}
WHOLE: dict[str, Callable[[ReportFilter, Programme, datetime], Awaitable[object]]] = {
    "exits": lambda flt, p, now: exits_report(flt),
    "channels": lambda flt, p, now: channels_report(flt, p.value, now=now),
    "tiers": lambda flt, p, now: tiers_report(flt, p, now=now),
}
NAMES = (*PAGED, *WHOLE)


@dataclass(frozen=True)
class StoredAnswer:
    body: dict[str, Any]
    """The report as `dataclasses.asdict` gives it, dates and times in ISO form, a list report's
    rows under `rows`."""
    as_of: date
    computed_at: datetime


def params_key(flt: ReportFilter, programme: Programme, limit: int | None) -> str:
    """What an answer depends on besides the data: the period's days, the programme and, for a
    paged report, the page's size."""
    rules = hashlib.sha256(repr(programme).encode()).hexdigest()[:16]
    page = "" if limit is None else f" limit={limit}"
    return f"{flt.start_day.isoformat()}..{flt.end_day.isoformat()} programme={rules}{page}"


def _json(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def as_body(answer: object) -> dict[str, Any]:
    """A report's answer (a dataclass, or a list of row dataclasses) as a JSON-ready dict."""
    if isinstance(answer, list):
        return {"rows": [asdict(row) for row in answer]}
    assert is_dataclass(answer) and not isinstance(answer, type)
    return asdict(answer)


def dump(answer: object) -> str:
    return json.dumps(as_body(answer), default=_json, ensure_ascii=False, sort_keys=True)


async def store_answers(now: datetime, programme: Programme) -> dict[str, int]:
    """Compute every report's default answer as of `now` and replace the stored ones; the
    milliseconds each took. A second run the same day replaces them with the same content."""
    day = now.astimezone(timezone.get_default_timezone()).date()
    flt = default_filter(day, programme.value)
    answers: list[ReportAnswer] = []
    took: dict[str, int] = {}

    async def keep(name: str, limit: int | None, computing: Awaitable[object]) -> None:
        started = time.perf_counter()
        body = dump(await computing)
        took[name] = took.get(name, 0) + round((time.perf_counter() - started) * 1000)
        key = params_key(flt, programme, limit)
        answers.append(ReportAnswer(name=name, params=key, as_of=day, computed_at=now, body=body))

    for name, paged in PAGED.items():
        for limit in PAGES:
            await keep(name, limit, paged(flt, programme, limit, now))
    for name, whole in WHOLE.items():
        await keep(name, None, whole(flt, programme, now))
    async with in_transaction() as conn:
        await ReportAnswer.all().using_db(conn).delete()
        await ReportAnswer.bulk_create(answers, using_db=conn)
    log.info("report answers day=%s ms=%s", day, took)
    return took


async def stored_answer(
    name: str,
    flt: ReportFilter,
    programme: Programme,
    *,
    choice: object = None,
    limit: int | None = None,
    offset: int = 0,
) -> StoredAnswer | None:
    """The stored answer to `name` asked with `flt` (and for a paged report, its list `choice`
    and page), or None when it must be computed live."""
    if flt.narrowed or choice != DEFAULT_CHOICE.get(name) or offset != 0:
        return None
    if (name in PAGED) != (limit in PAGES):
        return None
    found = (
        await ReportAnswer.filter(name=name, params=params_key(flt, programme, limit))
        .using_db(read_connection())
        .first()
    )
    if found is None:
        return None
    body: dict[str, Any] = json.loads(found.body)
    return StoredAnswer(body=body, as_of=found.as_of, computed_at=found.computed_at)


def csv_rows(kind: type[object], rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored rows as the live CSV has them: times back to datetimes (a CSV cell is `str()` of
    the value, which writes a time with a space where ISO has a T)."""
    hints = get_type_hints(kind)
    times = [f.name for f in fields(kind) if datetime in _types(hints[f.name])]  # type: ignore[arg-type]
    return [
        {**row, **{t: datetime.fromisoformat(row[t]) for t in times if row.get(t) is not None}}
        for row in rows
    ]


def _types(hint: object) -> tuple[object, ...]:
    args = getattr(hint, "__args__", None)
    return tuple(args) if args else (hint,)
