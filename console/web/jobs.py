"""The scheduled jobs: one table a job of its recent runs, a failed, long-running or missed run
marked, whether each day was done on time, made up later (and how) or not made up, its counts by
name, and when it is next due. Runs the staff API's `listJobRuns` (the same role check and
answer); this module only lays the answer out per job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.schedule import JOBS
from bot.staff_api.jobs import DEFAULT_DAYS, MAX_DAYS
from club.staff.accounts import Permission
from console.auth.context import require
from console.i18n import Translate, translator
from console.render import page_language, render
from console.texts import TEXTS
from console.web.actions import act, whole_number

DAY_CHOICES = (7, 14, 30, MAX_DAYS)
PREFIXES = ("reminders_skipped_", "reminders_", "skipped_")
"""Counts named after what they count more closely: `skipped_frequency_cap`."""


def count_label(key: str, _: Translate) -> str:
    """A count's name in words: its own text, else its prefix's with the rest in words, else the
    name as the job gave it (a count this page has no words for yet still shows)."""
    if f"count_{key}" in TEXTS:
        return _(f"count_{key}")
    if key.startswith("quadrant_") and key in TEXTS:
        return _("count_quadrant", what=_(key))
    if key.startswith("class_"):
        return _("count_class", what=key.removeprefix("class_"))
    for prefix in PREFIXES:
        if key.startswith(prefix):
            return _(f"count_{prefix}", what=count_label(key.removeprefix(prefix), _))
    return key


def job_name(job: str, _: Translate) -> str:
    return _("job_" + job.replace("-", "_"))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _mark(run: Mapping[str, Any]) -> str | None:
    if run["status"] == "failed":
        return "failed"
    return "long" if run["running_long"] else None


def _timing(day: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the day was done on time or made up; `made_up_self`: by its own run (else by a
    later day's, which did its work)."""
    made_up = day["made_up"]
    own = made_up is not None and made_up["run_day"] == day["day"]
    return {"timing": day["timing"], "made_up": made_up, "made_up_self": own}


def _rows(
    job: str, found: Mapping[str, Any], missed: list[Mapping[str, Any]], _: Translate
) -> list[Any]:
    """The job's runs and the days it missed, newest day first."""
    rows: list[dict[str, Any]] = [
        {"day": m["day"], "mark": "missed", "run": None, **_timing(m)} for m in missed
    ]
    for run in found["runs"]:
        if run["job"] == job:
            counts = [(count_label(k, _), v) for k, v in run["counts"].items()]
            rows.append({
                "day": run["day"], "mark": _mark(run), "run": run, "counts": counts, **_timing(run),
            })  # fmt: skip
    return sorted(rows, key=lambda r: r["day"], reverse=True)


def tables(found: Mapping[str, Any], _: Translate) -> list[dict[str, Any]]:
    """One table a job: the schedule's in its order, then any other job that ran (by hand)."""
    scheduled = {s["job"]: s for s in found["schedule"]}
    ran = {r["job"] for r in found["runs"]}
    names = [*scheduled, *(j for j in JOBS if j in ran and j not in scheduled)]
    out = []
    for job in names:
        plan = scheduled.get(job)
        missed = plan["missed"] if plan else []
        rows = _rows(job, found, missed, _)
        out.append({
            "job": job, "name": job_name(job, _), "next_due": plan["next_due"] if plan else None,
            "rows": rows,
            # What is still to look at, apart from what a later run has made up since.
            "marked": sum(1 for r in rows if r["mark"] and r["timing"] != "made_up"),
            "made_up": sum(1 for r in rows if r["timing"] == "made_up"),
        })  # fmt: skip
    return out


async def jobs_page(request: web.Request) -> web.StreamResponse:
    require(request, Permission.READ_JOBS)
    days = whole_number(request.query.get("days"), high=MAX_DAYS) or DEFAULT_DAYS
    found = (await act(request, "listJobRuns", {}, query={"days": str(days)})).model_dump()
    _ = translator(page_language(request))
    return await render(
        request,
        "jobs.html",
        {
            "found": found,
            "tables": tables(found, _),
            "days": days,
            "day_choices": sorted({*DAY_CHOICES, days}),
            "duration": duration,
        },
    )
