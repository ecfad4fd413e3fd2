"""The nightly `rank-ahead` job: rank the periods staff will ask for before they ask.

A period's first 80/20 report ranks a million customers' purchases, which takes longer than a
report may (`club.reports.rankings`; a web process does it in the background and answers 202
meanwhile: `club.reports.ranker`). Most asks are for periods known in advance, so the job ranks
them at night and keeps them all day, whatever else is asked:

- the programme's named periods (`[value] ranked_ahead`: last month, last quarter, the year so
  far, last year), as the console offers them beside its date fields;
- the periods reports asked for the day before (the `kept_rankings` most recently read), since
  staff come back to the report they looked at yesterday.

It runs before the value-refresh, which drops the earlier days' rankings. Idempotent per day: a
period already ranked today (by a report, or by an earlier run) is not ranked again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from tortoise import timezone

from club.db.models.value import Ranking
from club.programme import Programme
from club.reports.filters import build_filter
from club.reports.rankings import keep_ahead, rules_key
from club.rules.periods import preset_period


async def rank_ahead(day: date, now: datetime, programme: Programme) -> Mapping[str, int]:
    """Rank `day`'s named periods and yesterday's asked ones; what was done."""
    rules = programme.value
    periods = [preset_period(p, day) for p in rules.ranked_ahead]
    for period in await _asked_on(day - timedelta(days=1), rules_key(rules), rules.kept_rankings):
        if period not in periods:
            periods.append(period)
    counts = {"periods": len(periods), "ranked": 0, "already": 0, "customers": 0}
    tz = timezone.get_default_timezone()
    for start, end in periods:
        flt = build_filter(today=day, tz=tz, months=rules.months, start=start, end=end)
        ranked = await keep_ahead(flt, rules, now)
        if ranked is None:
            counts["already"] += 1
        else:
            counts["ranked"] += 1
            counts["customers"] += ranked
    return counts


async def _asked_on(day: date, rules: str, most: int) -> list[tuple[date, date]]:
    """The periods reports asked for on `day` (not the snapshot, not those ranked ahead), the
    most recently read first."""
    if most == 0:
        return []
    rows = (
        await Ranking.filter(as_of=day, rules=rules, snapshot=False, ahead=False)
        .order_by("-read_at", "-id")
        .limit(most)
        .values_list("start_day", "end_day")
    )
    return [(start, end) for start, end in rows]
