"""Customer value reports: JSON, or CSV with `?format=csv` (UTF-8 with a BOM, for Excel)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields

from aiohttp import web

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.programme import PROGRAMME
from bot.staff_api.report_schemas import (
    ParetoOut,
    ParetoQuery,
    PeriodOut,
    ReportQuery,
)
from club.reports.export import to_csv
from club.reports.filters import ReportFilter, build_filter
from club.reports.pareto import pareto_report
from club.reports.pareto_rows import ParetoCustomer
from club.staff.accounts import Permission

REPORTS = "/api/v1/reports"
CSV_NOTE = " With `?format=csv` the rows come as CSV (UTF-8 with a BOM, which Excel needs)."


def report_filter(call: Call, query: ReportQuery) -> ReportFilter:
    tz = call.deps.settings.tz
    programme = call.request.app[PROGRAMME]
    call.target = call.request.path.removeprefix(REPORTS + "/")
    return build_filter(
        today=call.now.astimezone(tz).date(),
        tz=tz,
        months=programme.value.months,
        start=query.from_,
        end=query.to,
        level=query.level,
        store=query.store,
    )


def period_out(flt: ReportFilter) -> PeriodOut:
    return PeriodOut(start=flt.start_day, end=flt.end_day, level=flt.level, store=flt.store)


def csv_response(
    name: str, flt: ReportFilter, columns: Sequence[str], rows: Iterable[Mapping[str, object]]
) -> web.Response:
    filename = f"{name}_{flt.start_day:%Y%m%d}-{flt.end_day:%Y%m%d}.csv"
    return web.Response(
        body=to_csv(columns, rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def columns_of(kind: type[object]) -> list[str]:
    return [f.name for f in fields(kind)]  # type: ignore[arg-type]


async def pareto(call: Call) -> ParetoOut | web.Response:
    query = call.query_as(ParetoQuery)
    flt = report_filter(call, query)
    rules = call.request.app[PROGRAMME].value
    report = await pareto_report(
        flt, rules, segment=query.segment, limit=query.limit, offset=query.offset
    )
    call.summary["rows"] = len(report.customers)
    if query.format == "csv":
        rows = (asdict(c) for c in report.customers)
        return csv_response("pareto", flt, columns_of(ParetoCustomer), rows)
    return ParetoOut.model_validate({**asdict(report), "period": period_out(flt)})


ENDPOINTS = [
    Endpoint(
        method="GET",
        path=f"{REPORTS}/pareto",
        view=pareto,
        operation_id="reportPareto",
        summary="Read the 80/20 report: key customers by sales and by profit per channel level",
        description=(
            "Within each channel level, the smallest set of customers making the programme's "
            "share (80%) of sales and, separately, of profit; their overlap and both "
            "differences; potential key customers (just after the cut, sales rising); the "
            "Pareto curves (a point per percent of customers). Customers are members at the "
            "consumer level and stores at the others. Profit counts purchases with a cost; the "
            "others are reported as missing." + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=ParetoQuery,
        response=ParetoOut,
        csv=True,
        audit="report.read",
    ),
]
