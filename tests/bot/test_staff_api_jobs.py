"""GET /api/v1/jobs: the scheduled jobs' runs as the runner recorded them (real jobs, run through
it), the day the scheduler missed, when each job is next due, and who may read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from bot.deps import DEPS
from club.clock import FixedClock
from club.db.models.jobs import JobRun, JobStatus
from club.job_runs import RunStarter
from scheduler.app import Runtime
from tests.bot.test_staff_api_support import Client, error_of, staff_headers
from tests.scheduler.history import MISSED, PASSWORD, PHONE, SCHEDULED, TZ, make_history

URL = "/api/v1/jobs"


def runs_of(body: dict[str, Any], job: str) -> dict[str, dict[str, Any]]:
    return {r["day"]: r for r in body["runs"] if r["job"] == job}


async def test_last_nights_runs_a_failure_a_resumed_run_and_the_day_nobody_ran(
    client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_history(Runtime(client.app[DEPS]), clock, monkeypatch)
    headers = await staff_headers()
    resp = await client.get(URL, headers=headers["marketer"])
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["first_day"], body["last_day"]) == ("2026-11-10", "2026-11-23")
    assert body["time_zone"] == "Asia/Shanghai" and body["first_run_day"] == "2026-11-20"
    assert len(body["runs"]) == 6 + 2 + 6 + 4 + 1
    days = [r["day"] for r in body["runs"]]
    assert days == sorted(days, reverse=True)  # newest first

    # When each job is next due, from the scheduler's own triggers, in the club's time zone.
    schedule = {s["job"]: s for s in body["schedule"]}
    assert list(schedule) == [*SCHEDULED[:3], "tier-review", *SCHEDULED[3:]]
    assert schedule["birthday"]["next_due"] == "2026-11-23T10:00:00+08:00"
    assert schedule["expire-points"]["next_due"] == "2026-11-24T03:00:00+08:00"
    assert schedule["tier-review"]["next_due"] == "2026-12-01T04:00:00+08:00"
    assert schedule["rank-ahead"]["next_due"] == "2026-11-24T01:30:00+08:00"
    # The day the scheduler was down is missing for every daily job the catch-up did not run
    # for it; today's greetings are not due yet, so not missed; a day with a failed or
    # unfinished run is not missing either.
    for job in ("birthday", "festival", "rank-ahead", "value-refresh"):
        assert schedule[job]["missed_days"] == [MISSED.isoformat()], job
    for job in ("expire-points", "churn-scan", "tier-review"):
        assert schedule[job]["missed_days"] == [], job

    done = runs_of(body, "expire-points")["2026-11-23"]
    assert (done["status"], done["attempts"], done["counts_cover"]) == ("done", 1, "run")
    assert done["started_at"] == "2026-11-23T03:00:00+08:00" and done["duration_s"] == 0.0
    assert {"lots", "points", "reminders", "vouchers_expired"} <= set(done["counts"])
    assert done["last_error"] is None and done["running_long"] is False

    # Failed, then run again: the counts are the second attempt's, and the answer says so.
    resumed = runs_of(body, "birthday")["2026-11-22"]
    assert (resumed["status"], resumed["attempts"]) == ("done", 2)
    assert resumed["counts_cover"] == "last_attempt"
    assert resumed["counts"]["found"] == 1 and resumed["counts"]["birthdays"] == 1
    assert resumed["started_at"] == "2026-11-22T10:05:00+08:00" and resumed["last_error"] is None

    failed = runs_of(body, "churn-scan")["2026-11-22"]
    assert (failed["status"], failed["counts"]) == ("failed", {})
    assert failed["finished_at"] == "2026-11-22T02:30:00+08:00"
    error = failed["last_error"]
    assert error.startswith("OperationalError: invalid input for query argument $1")
    assert PHONE not in error and "138****5678" in error  # masked as the log masks it
    assert PASSWORD not in error and "postgres://club:***@db.internal" in error
    stored = await JobRun.get(job="churn-scan", day=date(2026, 11, 22))
    assert stored.last_error is not None  # stored masked already (scheduler.runner)
    assert PHONE not in stored.last_error and PASSWORD not in stored.last_error

    killed = runs_of(body, "value-refresh")["2026-11-22"]
    assert (killed["status"], killed["running_long"], killed["duration_s"]) == (
        "running",
        True,
        None,
    )
    assert runs_of(body, "value-refresh")["2026-11-23"]["running_long"] is False
    assert body["long_run_s"] == 3600

    # A job off the schedule, run by hand, is listed with its runs.
    assert list(runs_of(body, "automations")) == ["2026-11-22"]


def made_up(by: str | None, at: str, run_day: str) -> dict[str, Any]:
    return {"by": by, "at": f"2026-11-{at}:00+08:00", "run_day": f"2026-11-{run_day}"}


async def test_each_day_says_on_time_made_up_and_how_or_not_made_up(
    client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_history(Runtime(client.app[DEPS]), clock, monkeypatch)
    headers = await staff_headers()
    body = await (await client.get(URL, headers=headers["marketer"])).json()

    def timing(job: str) -> dict[str, tuple[str | None, str, dict[str, Any] | None]]:
        runs = runs_of(body, job)
        return {day: (r["started_by"], r["timing"], r["made_up"]) for day, r in runs.items()}

    # Run by the schedule at its time: on time.
    assert timing("festival") == {
        "2026-11-22": ("schedule", "on_time", None),
        "2026-11-20": ("schedule", "on_time", None),
    }
    # Failed at 10:00, run again by hand at 10:05: made up by hand, when it finished.
    assert timing("birthday")["2026-11-22"] == (
        "hand", "made_up", made_up("hand", "22T10:05", "22"),
    )  # fmt: skip
    # The start-up catch-up at 02:10 on the 22nd ran the day it missed (a run for the 21st) and
    # today's rankings, due at 01:30: each made up by the catch-up.
    assert timing("expire-points") == {
        "2026-11-23": ("schedule", "on_time", None),
        "2026-11-22": ("schedule", "on_time", None),
        "2026-11-21": ("catch_up", "made_up", made_up("catch_up", "22T02:10", "21")),
        "2026-11-20": ("schedule", "on_time", None),
    }
    assert timing("rank-ahead")["2026-11-22"] == (
        "catch_up", "made_up", made_up("catch_up", "22T02:10", "22"),
    )  # fmt: skip
    # A failed or killed run of a job whose every run does the earlier days' work (the churn
    # list, customer values, as of when it runs) is made up by the next run that finished.
    assert timing("churn-scan")["2026-11-22"] == (
        "schedule", "made_up", made_up("schedule", "23T02:30", "23"),
    )  # fmt: skip
    assert timing("value-refresh")["2026-11-22"] == (
        "catch_up", "made_up", made_up("schedule", "23T02:00", "23"),
    )  # fmt: skip
    # A job off the schedule run by hand made nothing up.
    assert timing("automations") == {"2026-11-22": ("hand", "by_hand", None)}

    # The days with no run of their own: a greeting or the rankings of a day gone are never
    # made up; the value refresh of the 21st was done by the run of the 23rd.
    schedule = {s["job"]: s for s in body["schedule"]}
    for job in ("birthday", "festival", "rank-ahead"):
        assert schedule[job]["missed"] == [
            {"day": "2026-11-21", "timing": "not_made_up", "made_up": None}
        ], job
    assert schedule["value-refresh"]["missed"] == [
        {"day": "2026-11-21", "timing": "made_up", "made_up": made_up("schedule", "23T02:00", "23")}
    ]
    assert schedule["expire-points"]["missed"] == schedule["churn-scan"]["missed"] == []


async def test_a_failed_greeting_nobody_ran_again_is_not_made_up(
    client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_history(Runtime(client.app[DEPS]), clock, monkeypatch)
    # The 23rd's greetings fail at 10:00; nobody runs them again, and a later day's greetings
    # are for other members: the day stays not made up.
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))
    await JobRun.create(
        job="festival", day=date(2026, 11, 23), started_at=clock.now(), finished_at=clock.now(),
        status=JobStatus.FAILED, last_error="ConnectionError: lost", started_by=RunStarter.SCHEDULE,
    )  # fmt: skip
    clock.set(datetime(2026, 11, 24, 10, 30, tzinfo=TZ))
    await JobRun.create(
        job="festival", day=date(2026, 11, 24), started_at=clock.now(), finished_at=clock.now(),
        status=JobStatus.DONE, started_by=RunStarter.SCHEDULE,
    )  # fmt: skip
    # A run by hand before the job's time that day made nothing up: it was not due yet.
    await JobRun.create(
        job="value-refresh", day=date(2026, 11, 24), started_at=clock.now().replace(hour=1),
        finished_at=clock.now().replace(hour=1, minute=2), status=JobStatus.DONE,
        started_by=RunStarter.HAND,
    )  # fmt: skip
    # A run recorded before who started it was kept (migration 0032) says so.
    await JobRun.filter(job="festival", day=date(2026, 11, 20)).update(started_by=None)
    headers = (await staff_headers())["admin"]
    body = await (await client.get(URL, headers=headers)).json()
    runs = runs_of(body, "festival")
    assert (runs["2026-11-23"]["timing"], runs["2026-11-23"]["made_up"]) == ("not_made_up", None)
    assert runs["2026-11-24"]["timing"] == "on_time"
    assert (runs["2026-11-20"]["started_by"], runs["2026-11-20"]["timing"]) == (
        None, "not_recorded",
    )  # fmt: skip
    ahead = runs_of(body, "value-refresh")["2026-11-24"]
    assert (ahead["started_by"], ahead["timing"], ahead["made_up"]) == ("hand", "by_hand", None)


async def test_one_job_over_more_days(
    client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_history(Runtime(client.app[DEPS]), clock, monkeypatch)
    headers = (await staff_headers())["admin"]
    body = await (
        await client.get(URL, params={"job": "birthday", "days": "30"}, headers=headers)
    ).json()
    assert body["first_day"] == "2026-10-25"
    assert {r["job"] for r in body["runs"]} == {"birthday"}
    assert [r["day"] for r in body["runs"]] == ["2026-11-22", "2026-11-20"]
    # Days before the first run recorded (20 November) were before the club's scheduler ran.
    assert body["schedule"] == [
        {
            "job": "birthday",
            "next_due": "2026-11-23T10:00:00+08:00",
            "missed_days": ["2026-11-21"],
            "missed": [{"day": "2026-11-21", "timing": "not_made_up", "made_up": None}],
        }
    ]
    hand = await (await client.get(URL, params={"job": "automations"}, headers=headers)).json()
    assert hand["schedule"] == [] and [r["job"] for r in hand["runs"]] == ["automations"]


async def test_no_run_at_all_is_said_not_reported_as_a_fortnight_missed(client: Client) -> None:
    headers = (await staff_headers())["admin"]
    body = await (await client.get(URL, headers=headers)).json()
    assert body["runs"] == [] and body["first_run_day"] is None
    assert all(s["missed_days"] == [] for s in body["schedule"])
    assert len(body["schedule"]) == 7


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"days": "0"}, "days", "greater than or equal to 1"),
        ({"days": "93"}, "days", "less than or equal to 92"),
        ({"days": "two"}, "days", "valid integer"),
        ({"job": "birthdays"}, "job", "unknown job 'birthdays'; one of: birthday, festival"),
        ({"since": "2026-11-01"}, "since", "Extra inputs are not permitted"),
    ],
)
async def test_bad_parameters_are_refused_with_a_message(
    client: Client, params: dict[str, str], field: str, says: str
) -> None:
    headers = (await staff_headers())["marketer"]
    error = await error_of(await client.get(URL, params=params, headers=headers), 422)
    assert error["fields"] == [field] and says in error["message"], error


async def test_a_clerk_may_not_read_the_jobs(client: Client) -> None:
    headers = (await staff_headers())["clerk"]
    error = await error_of(await client.get(URL, headers=headers), 403)
    assert error["message"] == (
        "the clerk role may not read the scheduled jobs' recent runs and when each is due next"
    )
    await error_of(await client.get(URL), 401)
