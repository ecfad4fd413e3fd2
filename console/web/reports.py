"""Customer value reports: the Pareto curves per channel level (sales and profit side by side,
the cut marked), the RFM grid, A/B/C classes, the quadrants, the churn list, exits by month x
tier x channel, channel performance and tiers; each page with its CSV.

Each page runs the reports API's endpoint (`GET /api/v1/reports/{name}`, the same role check and
audit), and its CSV is that endpoint's `format=csv` answer.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.deps import DEPS
from bot.staff_api.errors import ApiError
from club.rules.periods import Preset, preset_period
from club.staff.accounts import Permission
from console.auth.context import require
from console.i18n import Translate, translator
from console.render import page_language, render
from console.web import charts
from console.web.actions import act_any, download
from console.web.members import tier_label

REPORTS = {
    "pareto": "reportPareto",
    "rfm": "reportRfm",
    "classes": "reportClasses",
    "quadrants": "reportQuadrants",
    "churn": "reportChurn",
    "exits": "reportExits",
    "channels": "reportChannels",
    "tiers": "reportTiers",
}
FILTERS = ("from", "to", "level", "store")
PAGED = {"pareto", "rfm", "classes", "quadrants", "churn"}
CHOICES = {"pareto": "segment", "classes": "change", "quadrants": "quadrant", "churn": "reason"}
ROWS_SHOWN = "50"
LEVELS = ("dealer", "wholesaler", "key_account", "small_shop", "online", "consumer")


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in REPORTS:
        raise web.HTTPNotFound()
    return name


def report_query(name: str, given: Mapping[str, str]) -> dict[str, str]:
    """What the page passes on to the API: the filters it knows, blanks left out."""
    keys = [*FILTERS, *([CHOICES[name]] if name in CHOICES else [])]
    query = {k: given[k].strip() for k in keys if given.get(k, "").strip()}
    if name in PAGED:
        query["limit"] = ROWS_SHOWN
    return query


async def index(request: web.Request) -> web.StreamResponse:
    require(request, Permission.READ_REPORTS)
    return await render(request, "reports.html", {"reports": list(REPORTS)})


async def report_csv(request: web.Request) -> web.StreamResponse:
    require(request, Permission.READ_REPORTS)
    name = _name(request)
    query = report_query(name, request.query)
    query.pop("limit", None)
    query["format"] = "csv"
    if name in PAGED:
        query["limit"] = "100000"
    try:
        found = await act_any(request, REPORTS[name], query=query)
    except ApiError as exc:
        raise web.HTTPUnprocessableEntity(text=exc.message) from None
    if _pending(found) is not None:
        # Still ranking: the report's page waits and asks again; its CSV is there after.
        page_query = {k: v for k, v in query.items() if k in request.query}
        raise web.HTTPSeeOther(
            f"/console/reports/{name}" + (f"?{urlencode(page_query)}" if page_query else "")
        )
    return await download(request, found)


def _pending(found: object) -> dict[str, Any] | None:
    """The API's 202 body when the period is still being ranked, else None."""
    if isinstance(found, web.Response) and found.status == 202 and found.text:
        body: dict[str, Any] = json.loads(found.text)
        return body
    return None


async def report_page(request: web.Request) -> web.StreamResponse:
    require(request, Permission.READ_REPORTS)
    name = _name(request)
    lang = page_language(request)
    _ = translator(lang)
    query = report_query(name, request.query)
    error = None
    try:
        found = await act_any(request, REPORTS[name], query=query)
        pending = _pending(found)
        if pending is not None:
            return await render(
                request,
                "report_pending.html",
                {
                    "name": name,
                    "start": pending["period"]["start"],
                    "end": pending["period"]["end"],
                    "retry_after": int(pending["retry_after"]),
                },
            )
        data: dict[str, Any] = (
            found.model_dump() if not isinstance(found, web.StreamResponse) else {}
        )
    except ApiError as exc:
        error, data, query = exc.message, {}, {}
        found = await act_any(request, REPORTS[name], query=report_query(name, {}))
        data = found.model_dump() if not isinstance(found, web.StreamResponse) else {}
    programme = request.app[DEPS].programme
    tiers = {t.code: tier_label(programme, t.code, lang) for t in programme.tiers.tiers}
    csv_query = {k: v for k, v in query.items() if k != "limit"}
    return await render(
        request,
        "report.html",
        {
            "name": name,
            "r": data,
            "q": {k: request.query.get(k, "") for k in (*FILTERS, CHOICES.get(name, "_"))},
            "choice": CHOICES.get(name),
            "levels": LEVELS,
            "tiers": tiers,
            "error": error,
            "csv_url": f"/console/reports/{name}.csv"
            + (f"?{urlencode(csv_query)}" if csv_query else ""),
            "charts": _charts(name, data, _, tiers) if _has_rows(name, data) else {},
            "exit_rows": _exit_rows(data) if name == "exits" else [],
            "periods": period_links(name, request, _),
        },
        status=422 if error else 200,
    )


def period_links(name: str, request: web.Request, _: Translate) -> list[dict[str, Any]]:
    """The named periods beside the date fields, as links keeping the page's other filters:
    the default one (the value months up to today), then those the `rank-ahead` job ranks at
    night (`club.rules.periods`), whose 80/20 reports answer at once."""
    deps = request.app[DEPS]
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    kept = {k: v for k, v in report_query(name, request.query).items() if k not in ("from", "to")}
    kept.pop("limit", None)
    given = (request.query.get("from", ""), request.query.get("to", ""))
    base = f"/console/reports/{name}"

    def link(label: str, days: tuple[str, str]) -> dict[str, Any]:
        query = {**({"from": days[0], "to": days[1]} if days[0] else {}), **kept}
        href = base + (f"?{urlencode(query)}" if query else "")
        return {"label": label, "href": href, "current": given == days}

    links = [link(_("period_default", n=deps.programme.value.months), ("", ""))]
    for preset in Preset:
        start, end = preset_period(preset, today)
        links.append(link(_("period_" + preset), (start.isoformat(), end.isoformat())))
    return links


def _charts(
    name: str, data: Mapping[str, Any], _: Translate, tiers: Mapping[str, str]
) -> dict[str, charts.Option]:
    if name == "pareto":
        return {
            f"pareto-{lv['level']}": charts.pareto_curves(lv, data["share"], _)
            for lv in data["levels"]
        }
    if name == "rfm":
        return {"rfm": charts.rfm_heatmap(data["cells"], data["bins"], _)}
    if name == "classes":
        rows = data["classes"]
        return {
            "classes": charts.category_bars(
                [c["value_class"] for c in rows], [c["members"] for c in rows], _("members")
            )
        }
    if name == "quadrants":
        rows = data["quadrants"]
        return {
            "quadrants": charts.category_bars(
                [_("quadrant_" + q["quadrant"]) for q in rows],
                [q["members"] for q in rows],
                _("members"),
            )
        }
    if name == "churn":
        groups = [g for g in data["groups"] if g["by"] == "tier"]
        return {
            "churn": charts.category_bars(
                [tiers.get(g["key"] or "", g["key"] or "—") for g in groups],
                [g["members"] for g in groups],
                _("members"),
            )
        }
    if name == "exits":
        months = sorted({c["month"] for c in data["cells"]})
        by: dict[str, Counter[str]] = defaultdict(Counter)
        for cell in data["cells"]:
            by[_("channel_level_" + cell["channel"])][cell["month"]] += cell["exits"]
        stacks = [(label, [counts[m] for m in months]) for label, counts in sorted(by.items())]
        return {"exits": charts.stacked_bars(months, stacks)}
    if name == "channels":
        rows = data["rows"][:15]
        return {
            "channels": charts.category_bars(
                [r["name"] or r["ref"] for r in rows][::-1],
                [r["members"] for r in rows][::-1],
                _("members_brought"),
                horizontal=True,
            )
        }
    if name == "tiers":
        rows = data["rows"]
        return {
            "tiers": charts.category_bars(
                [r["name"] for r in rows], [r["sales_fen"] // 100 for r in rows], _("sales_yuan")
            )
        }
    return {}


def _has_rows(name: str, data: Mapping[str, Any]) -> bool:
    """Whether the report found anything to draw (an empty chart is only axes)."""
    found = {
        "pareto": "levels",
        "rfm": "cells",
        "classes": "classes",
        "quadrants": "quadrants",
        "churn": "groups",
        "exits": "cells",
        "channels": "rows",
        "tiers": "rows",
    }
    key = found[name]
    return bool(data.get(key)) and (name != "rfm" or bool(data.get("members")))


def _exit_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Exits by month x tier x channel (the kinds added together), newest month first."""
    merged: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for cell in data["cells"]:
        key = (cell["month"], cell["tier"] or "", cell["channel"])
        merged[key]["exits"] += cell["exits"]
        merged[key][cell["kind"]] += cell["exits"]
        merged[key]["tenure"] += cell["avg_tenure_days"] * cell["exits"]
    rows = []
    for (month, tier, channel), n in sorted(merged.items(), key=lambda kv: kv[0], reverse=True):
        rows.append(
            {
                "month": month,
                "tier": tier,
                "channel": channel,
                "exits": n["exits"],
                "unfollow": n["unfollow"],
                "dormant": n["dormant"],
                "tenure": n["tenure"] // n["exits"] if n["exits"] else 0,
            }
        )
    return rows
