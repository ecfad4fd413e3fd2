"""Customer value reports: JSON, or CSV with `?format=csv` (UTF-8 with a BOM, for Excel)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.jsontext import json_response
from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.report_schemas import (
    AnswerOut,
    ChannelsOut,
    ChurnOut,
    ChurnQuery,
    ClassesOut,
    ClassesQuery,
    ExitsOut,
    PageQuery,
    ParetoOut,
    ParetoQuery,
    PeriodOut,
    QuadrantsOut,
    QuadrantsQuery,
    RankingPendingOut,
    ReportQuery,
    RfmOut,
    TiersOut,
)
from club.reports.answers import as_body, csv_rows, stored_answer
from club.reports.channels import ChannelRow, channels_report
from club.reports.churn import ChurnRow, churn_report
from club.reports.classes import ClassChangeRow, classes_report
from club.reports.exits import ExitCell, exits_report
from club.reports.export import to_csv
from club.reports.filters import ReportFilter, build_filter
from club.reports.members import MemberValueRow
from club.reports.pareto import pareto_report
from club.reports.pareto_rows import ParetoCustomer
from club.reports.quadrants import quadrants_report
from club.reports.ranker import RankingPending
from club.reports.rfm import rfm_report
from club.reports.tiers import TierRow, tiers_report
from club.staff.accounts import Permission

REPORTS = "/api/v1/reports"
CSV_NOTE = " With `?format=csv` the rows come as CSV (UTF-8 with a BOM, which Excel needs)."


def report_filter(call: Call, query: ReportQuery) -> ReportFilter:
    tz = call.deps.settings.tz
    programme = call.deps.programme
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


async def answer(
    call: Call,
    name: str,
    flt: ReportFilter,
    live: Callable[[], Awaitable[object]],
    *,
    choice: object = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[dict[str, Any], datetime, bool]:
    """The report's body, when it was computed, and whether it came from storage: the answer
    kept from the day's churn-scan for the default parameters, else computed now (from a
    kept ranking, for the 80/20 report: then when that was computed)."""
    programme = call.deps.programme
    found = await stored_answer(name, flt, programme, choice=choice, limit=limit, offset=offset)
    call.summary["stored"] = found is not None
    if found is not None:
        return found.body, found.computed_at, True
    body = as_body(await live())
    ranked_at = body.get("computed_at")
    return body, ranked_at if isinstance(ranked_at, datetime) else call.now, False


def reply(
    out: type[AnswerOut],
    flt: ReportFilter,
    body: Mapping[str, Any],
    computed_at: datetime,
) -> Any:
    return out.model_validate({**body, "period": period_out(flt), "computed_at": computed_at})


def csv_of(
    name: str, flt: ReportFilter, kind: type[object], rows: list[Any], stored: bool
) -> web.Response:
    return csv_response(name, flt, columns_of(kind), csv_rows(kind, rows) if stored else rows)


async def paged(
    call: Call,
    name: str,
    flt: ReportFilter,
    live: Callable[[], Awaitable[object]],
    *,
    page: Any,
    choice: object,
    rows: str,
    kind: type[object],
    out: type[AnswerOut],
) -> Any:
    """A report of pages of rows (`page`: its query, with limit, offset and format): the stored
    or live answer, its row count in the access summary, then JSON or CSV."""
    body, at, stored = await answer(
        call, name, flt, live, choice=choice, limit=page.limit, offset=page.offset
    )
    call.summary["rows"] = len(body[rows])
    if page.format == "csv":
        return csv_of(name, flt, kind, body[rows], stored)
    return reply(out, flt, body, at)


async def pareto(call: Call) -> ParetoOut | web.Response:
    query = call.query_as(ParetoQuery)
    flt = report_filter(call, query)
    rules = call.deps.programme.value
    try:
        return await paged(  # type: ignore[no-any-return]
            call,
            "pareto",
            flt,
            lambda: pareto_report(
                flt,
                rules,
                segment=query.segment,
                limit=query.limit,
                offset=query.offset,
                now=call.now,
                ranker=call.deps.ranker,
            ),
            page=query,
            choice=query.segment,
            rows="customers",
            kind=ParetoCustomer,
            out=ParetoOut,
        )
    except RankingPending as pending:
        call.summary["pending"] = True
        return pending_response(flt, pending)


def pending_response(flt: ReportFilter, pending: RankingPending) -> web.Response:
    """202: the period's customers are still being ranked; ask again after Retry-After."""
    body = RankingPendingOut(
        status="ranking",
        message=(
            f"The customers of {pending.start_day}..{pending.end_day} are being ranked (the "
            "first report of a period ranks them all, then its pages answer at once): ask "
            f"again in {pending.retry_after} s"
        ),
        period=period_out(flt),
        started_at=pending.started_at,
        retry_after=pending.retry_after,
    )
    return json_response(
        body.model_dump(mode="json"),
        status=202,
        headers={"Retry-After": str(pending.retry_after)},
    )


async def rfm(call: Call) -> RfmOut | web.Response:
    query = call.query_as(PageQuery)
    flt = report_filter(call, query)
    bins = call.deps.programme.value.rfm_bins
    return await paged(  # type: ignore[no-any-return]
        call,
        "rfm",
        flt,
        lambda: rfm_report(flt, bins, limit=query.limit, offset=query.offset),
        page=query,
        choice=None,
        rows="rows",
        kind=MemberValueRow,
        out=RfmOut,
    )


async def classes(call: Call) -> ClassesOut | web.Response:
    query = call.query_as(ClassesQuery)
    flt = report_filter(call, query)
    return await paged(  # type: ignore[no-any-return]
        call,
        "classes",
        flt,
        lambda: classes_report(flt, change=query.change, limit=query.limit, offset=query.offset),
        page=query,
        choice=query.change,
        rows="rows",
        kind=ClassChangeRow,
        out=ClassesOut,
    )


async def quadrants(call: Call) -> QuadrantsOut | web.Response:
    query = call.query_as(QuadrantsQuery)
    flt = report_filter(call, query)
    return await paged(  # type: ignore[no-any-return]
        call,
        "quadrants",
        flt,
        lambda: quadrants_report(
            flt, quadrant=query.quadrant, limit=query.limit, offset=query.offset
        ),
        page=query,
        choice=query.quadrant,
        rows="rows",
        kind=MemberValueRow,
        out=QuadrantsOut,
    )


async def churn(call: Call) -> ChurnOut | web.Response:
    query = call.query_as(ChurnQuery)
    flt = report_filter(call, query)
    return await paged(  # type: ignore[no-any-return]
        call,
        "churn",
        flt,
        lambda: churn_report(flt, reason=query.reason, limit=query.limit, offset=query.offset),
        page=query,
        choice=query.reason,
        rows="rows",
        kind=ChurnRow,
        out=ChurnOut,
    )


async def exits(call: Call) -> ExitsOut | web.Response:
    query = call.query_as(ReportQuery)
    flt = report_filter(call, query)
    body, at, stored = await answer(call, "exits", flt, lambda: exits_report(flt))
    if query.format == "csv":
        return csv_of("exits", flt, ExitCell, body["cells"], stored)
    return reply(ExitsOut, flt, body, at)  # type: ignore[no-any-return]


async def channels(call: Call) -> ChannelsOut | web.Response:
    query = call.query_as(ReportQuery)
    flt = report_filter(call, query)
    rules = call.deps.programme.value
    body, at, stored = await answer(
        call, "channels", flt, lambda: channels_report(flt, rules, now=call.now)
    )
    if query.format == "csv":
        return csv_of("channels", flt, ChannelRow, body["rows"], stored)
    return reply(ChannelsOut, flt, body, at)  # type: ignore[no-any-return]


async def tiers(call: Call) -> TiersOut | web.Response:
    query = call.query_as(ReportQuery)
    flt = report_filter(call, query)
    programme = call.deps.programme
    body, at, stored = await answer(
        call, "tiers", flt, lambda: tiers_report(flt, programme, now=call.now)
    )
    if query.format == "csv":
        return csv_of("tiers", flt, TierRow, body["rows"], stored)
    return reply(TiersOut, flt, body, at)  # type: ignore[no-any-return]


STORED = (
    " From the daily value-refresh (`as_of`). Asked for a level, store or period, only the "
    "members who bought there and then are counted."
)

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
        accepted=(
            RankingPendingOut,
            "The period's customers are being ranked (its first report, at a large club): "
            "ask again after `Retry-After` seconds",
        ),
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/rfm",
        view=rfm,
        operation_id="reportRfm",
        summary="Read the RFM report: members by recency, frequency and monetary score",
        description=(
            "Scores 1..bins (quintiles by default) by rank among all valued members; the grid "
            "of R x F cells with members, spend and profit; the members best first."
            + STORED
            + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=PageQuery,
        response=RfmOut,
        csv=True,
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/classes",
        view=classes,
        operation_id="reportClasses",
        summary="Read the A/B/C report: each class, and who changed class in the period",
        description=(
            "A: the members making the first 80% of profit, B up to 95%, C the rest (the "
            "programme's shares). The rows are the class changes recorded in the period."
            + STORED
            + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=ClassesQuery,
        response=ClassesOut,
        csv=True,
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/quadrants",
        view=quadrants,
        operation_id="reportQuadrants",
        summary="Read the value x potential report: the four quadrants and their members",
        description=(
            "Value today (class A is high) by potential tomorrow (spend rising, or the next "
            "tier within reach): grow, keep, develop (the potential key customers) and "
            "economise." + STORED + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=QuadrantsQuery,
        response=QuadrantsOut,
        csv=True,
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/churn",
        view=churn,
        operation_id="reportChurn",
        summary="Read the churn early warning: members drifting away, each with the reason",
        description=(
            "From the daily churn-scan: silence beyond k times the member's own rhythm (the "
            "median gap between purchases), or 12-month spend fallen by more than the "
            "programme's share. Counts by reason, value class and tier; the members, most "
            "valuable first. `new_in_period`: flagged first on a day of the period. Asked for "
            "a level, store or period, only the members who bought there and then." + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=ChurnQuery,
        response=ChurnOut,
        csv=True,
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/exits",
        view=exits,
        operation_id="reportExits",
        summary="Read the exit report: where members leak, by month, tier and channel",
        description=(
            "Every unfollow and every follower gone dormant, recorded with the tier, value "
            "class, tenure and channel of origin of that moment: counts by month x kind x tier "
            "x channel with the average tenure at exit, by value class and tenure, and the "
            "signals before (never bought, bought in the 90 days before, a failed bottle code "
            "in the 7 days before, a cancelled redemption or a service ticket in the 30 days "
            "before). `level` and `store` filter by the channel of origin." + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=ReportQuery,
        response=ExitsOut,
        csv=True,
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/channels",
        view=channels,
        operation_id="reportChannels",
        summary="Read channel performance: per store and clerk QR code, the members they brought",
        description=(
            "Per QR code of a member's first follow: the members brought in (and within the "
            "period), how many still follow, how many bought in the period, and their sales "
            "and profit in it wherever they bought; most profitable first. `level` keeps the "
            "stores of that channel level, `store` one store." + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=ReportQuery,
        response=ChannelsOut,
        csv=True,
        audit="report.read",
    ),
    Endpoint(
        method="GET",
        path=f"{REPORTS}/tiers",
        view=tiers,
        operation_id="reportTiers",
        summary="Read the tier report: what each tier's members bring and how many are at risk",
        description=(
            "Per tier: club members, still following, buyers in the period, their sales and "
            "profit with each tier's share, value classes and churn flags. With a level or "
            "store only purchases there count, and only the members who made them." + CSV_NOTE
        ),
        permission=Permission.READ_REPORTS,
        query=ReportQuery,
        response=TiersOut,
        csv=True,
        audit="report.read",
    ),
]
