"""Did it work? Recipients against the held-out members over the window after sending.

Everyone frozen into a run counts, messaged or not (intention to treat: comparing only those
reached would compare different kinds of members); the held-out members are the control. For
each member, within `effect_days` of its run's start: whether they bought, their spend net of
returns, their profit, their redemptions, whether they unfollowed. The differences of the
means come with 95% confidence intervals from statsmodels: Welch's t interval for spend, profit
and redemptions (`CompareMeans.tconfint_diff`, unequal variances, the members' values weighted
by how many share each), Newcomb's interval for the two rates (`confint_proportions_2indep`).
Nothing about the members is read one by one: each run gives its distribution in one grouped
query.

Profit of a purchase is the customer value reports' own rule, from the same SQL
(`club.reports.profit`): net sale - cost (scaled to what was kept) - the points it earned at
`[value] point_value_fen` - the service cost of the channel level it was sold at. A purchase
with no cost is left out of profit and counted (`purchases_without_cost`), never taken as free.

Cost = bonus points credited at their value (only to members whose message went or may have:
a bonus reserved for a message withdrawn or never sent went back to the budget,
`club.campaigns.bonus`) + messages at the programme's message cost: those sent and those whose
outcome is unknown (WeChat never answered: they may have gone, by template or by
the mass send alike; `messages_outcome_unknown` says how many of them). The incremental profit
is the profit difference times the recipients; per yuan it is divided by the cost. "Not
significant" is said plainly when an interval contains zero.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from club.campaigns.progress import progress
from club.db.models.campaigns import Campaign, CampaignRun
from club.db.raw import rows
from club.messaging.outcomes import Outcome
from club.reports import profit
from club.rules.programme import Programme, ValueRules

ALPHA = 0.05
_WINDOW = "p.member_id = r.member_id AND p.created_at >= $2 AND p.created_at < $3"


def _per_member(rules: ValueRules) -> str:
    """Each member of a run as (held out, bought, spend, profit, redeemed, gone), grouped."""
    return f"""
SELECT x.holdout, x.bought, x.spend, x.profit, x.redeemed, x.gone, COUNT(*) AS n FROM (
  SELECT CASE WHEN r.holdout THEN 1 ELSE 0 END AS holdout,
    CASE WHEN EXISTS (SELECT 1 FROM purchase p WHERE {_WINDOW}
                      AND p.returned_fen < p.amount_fen) THEN 1 ELSE 0 END AS bought,
    COALESCE((SELECT SUM({profit.net()}) FROM purchase p WHERE {_WINDOW}), 0) AS spend,
    COALESCE((SELECT SUM({profit.profit(rules)}) FROM purchase p
              WHERE {_WINDOW} AND p.cost_fen IS NOT NULL), 0) AS profit,
    (SELECT COUNT(*) FROM redemption d WHERE d.member_id = r.member_id
       AND d.created_at >= $2 AND d.created_at < $3 AND d.status <> 'cancelled') AS redeemed,
    CASE WHEN EXISTS (SELECT 1 FROM follow_event f WHERE f.member_id = r.member_id
                      AND f.kind = 'unsubscribe' AND f.at >= $2 AND f.at < $3)
         THEN 1 ELSE 0 END AS gone
  FROM campaign_recipient r WHERE r.run_id = $1
) x GROUP BY x.holdout, x.bought, x.spend, x.profit, x.redeemed, x.gone
"""


_NO_COST = f"""
SELECT CASE WHEN r.holdout THEN 1 ELSE 0 END AS holdout, COUNT(*) AS n,
       COALESCE(SUM({profit.net()}), 0) AS spend
FROM campaign_recipient r JOIN purchase p ON {_WINDOW}
WHERE r.run_id = $1 AND p.cost_fen IS NULL
GROUP BY CASE WHEN r.holdout THEN 1 ELSE 0 END
"""
RATES = ("purchase_rate", "unfollow_rate")
MEANS = ("spend_per_member_fen", "profit_per_member_fen", "redemptions_per_member")
_COLUMN = {
    "purchase_rate": "bought",
    "unfollow_rate": "gone",
    "spend_per_member_fen": "spend",
    "profit_per_member_fen": "profit",
    "redemptions_per_member": "redeemed",
}


@dataclass
class Metric:
    name: str
    recipients: float
    holdout: float
    difference: float
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool
    says: str


@dataclass
class Effect:
    window_days: int
    window_ends: datetime
    window_complete: bool
    recipients: int
    held_out: int
    metrics: list[Metric] = field(default_factory=list)
    cost_fen: int = 0
    cost: dict[str, int] = field(default_factory=dict)
    incremental_profit_fen: Metric | None = None
    profit_per_yuan: Metric | None = None
    purchases_without_cost: dict[str, int] = field(default_factory=dict)
    says: str = ""


@dataclass
class _Groups:
    """Per group (0 recipients, 1 held out): each metric's value -> how many members."""

    values: dict[int, dict[str, Counter[float]]] = field(
        default_factory=lambda: {g: defaultdict(Counter) for g in (0, 1)}
    )
    sizes: Counter[int] = field(default_factory=Counter)

    def add(self, row: dict[str, Any]) -> None:
        group, n = int(row["holdout"]), int(row["n"])
        self.sizes[group] += n
        for metric, column in _COLUMN.items():
            self.values[group][metric][float(row[column])] += n

    def stats(self, group: int, metric: str) -> Any:
        """statsmodels' DescrStatsW of the group's values, weighted by how many share each."""
        from statsmodels.stats.weightstats import DescrStatsW

        found = self.values[group][metric]
        return DescrStatsW(
            np.array(list(found), dtype=float), weights=np.array(list(found.values()), dtype=float)
        )


async def effect(campaign: Campaign, programme: Programme, now: datetime) -> Effect | None:
    """None until a run has started."""
    runs = await CampaignRun.filter(campaign_id=campaign.id).order_by("id")
    if not runs:
        return None
    window = timedelta(days=campaign.effect_days)
    groups = _Groups()
    no_cost: Counter[str] = Counter()
    per_member = _per_member(programme.value)
    for run in runs:
        since, until = run.started_at, run.started_at + window
        for row in await rows(per_member, [run.id, since, until]):
            groups.add(row)
        for row in await rows(_NO_COST, [run.id, since, until]):
            side = "held_out" if int(row["holdout"]) else "recipients"
            no_cost[f"{side}_purchases"] += int(row["n"])
            no_cost[f"{side}_spend_fen"] += int(row["spend"])
    ends = max(r.started_at for r in runs) + window
    found = Effect(
        window_days=campaign.effect_days,
        window_ends=ends,
        window_complete=now >= ends,
        recipients=groups.sizes[0],
        held_out=groups.sizes[1],
        purchases_without_cost=dict(no_cost),
    )
    await _cost(found, campaign, programme)
    if min(groups.sizes[0], groups.sizes[1]) < 2:
        found.says = (
            "not measurable: the campaign has no held-out members to compare with"
            if groups.sizes[1] < 2
            else "not measurable yet: too few recipients"
        )
        return found
    found.metrics = [_rate(groups, name) for name in RATES] + [
        _mean(groups, name) for name in MEANS
    ]
    _returns(found, groups)
    found.says = _summary(found)
    return found


@contextmanager
def _degenerate_as_nan() -> Iterator[None]:
    """Groups whose values do not vary (nobody unfollowed on either side) make the statistics
    divide by zero: the answer is NaN, reported as "no interval", not a warning."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _rate(groups: _Groups, name: str) -> Metric:
    # statsmodels is imported when an effect is worked out (it costs a second at import, which
    # every process would pay at start-up for a page few open).
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    n1, n0 = groups.sizes[0], groups.sizes[1]
    c1 = int(groups.values[0][name][1.0])
    c0 = int(groups.values[1][name][1.0])
    with _degenerate_as_nan():
        low, high = confint_proportions_2indep(c1, n1, c0, n0, compare="diff", alpha=ALPHA)
        p_value = float(test_proportions_2indep(c1, n1, c0, n0).pvalue)
    return _metric(name, c1 / n1, c0 / n0, float(low), float(high), p_value)


def _mean(groups: _Groups, name: str) -> Metric:
    from statsmodels.stats.weightstats import CompareMeans

    treated, control = groups.stats(0, name), groups.stats(1, name)
    with _degenerate_as_nan():
        compared = CompareMeans(treated, control)
        low, high = compared.tconfint_diff(alpha=ALPHA, usevar="unequal")
        _, p_value, _ = compared.ttest_ind(usevar="unequal")
    return _metric(
        name, float(treated.mean), float(control.mean), float(low), float(high), float(p_value)
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _metric(
    name: str, treated: float, control: float, low: float, high: float, p_value: float
) -> Metric:
    lo, hi, p = _finite(low), _finite(high), _finite(p_value)
    difference = treated - control
    significant = lo is not None and hi is not None and (lo > 0 or hi < 0)
    if lo is None or hi is None:
        says = f"{name}: no interval (the values do not vary)"
    elif significant:
        says = f"{name}: {difference:+.4g} (95% CI {lo:+.4g} to {hi:+.4g}), significant"
    else:
        says = f"{name}: {difference:+.4g} (95% CI {lo:+.4g} to {hi:+.4g}): not significant"
    return Metric(name, treated, control, difference, lo, hi, p, significant, says)


async def _cost(found: Effect, campaign: Campaign, programme: Programme) -> None:
    counted = await progress(campaign.id)
    # Possibly sent: WeChat never answered (a template's attempts, the mass send's members,
    # `mass_unknown`, both counted so by the progress). Handed to WeChat, so paid for.
    unknown = counted.failed[Outcome.OUTCOME_UNKNOWN.value]
    messages = counted.sent + unknown
    points_fen = campaign.points_awarded * programme.value.point_value_fen
    messages_fen = messages * programme.campaigns.message_cost_fen
    found.cost = {
        "points": campaign.points_awarded,
        "points_fen": points_fen,
        "messages": messages,
        "messages_outcome_unknown": unknown,
        "messages_fen": messages_fen,
    }
    found.cost_fen = points_fen + messages_fen


def _returns(found: Effect, groups: _Groups) -> None:
    profit = next(m for m in found.metrics if m.name == "profit_per_member_fen")
    n = groups.sizes[0]

    def scaled(name: str, by: float) -> Metric:
        low = None if profit.low is None else profit.low * by
        high = None if profit.high is None else profit.high * by
        return _metric(name, profit.recipients * by, profit.holdout * by, *_pair(low, high),
                       profit.p_value if profit.p_value is not None else math.nan)  # fmt: skip

    found.incremental_profit_fen = scaled("incremental_profit_fen", n)
    if found.cost_fen > 0:
        found.profit_per_yuan = scaled("incremental_profit_per_yuan", n / found.cost_fen)


def _pair(low: float | None, high: float | None) -> tuple[float, float]:
    return (math.nan if low is None else low, math.nan if high is None else high)


def _summary(found: Effect) -> str:
    parts = []
    if not found.window_complete:
        parts.append(f"window open until {found.window_ends.isoformat(timespec='minutes')}")
    significant = [m.name for m in found.metrics if m.significant]
    parts.append(
        "significant: " + ", ".join(significant)
        if significant
        else "no difference is significant at 95%"
    )
    if found.purchases_without_cost:
        parts.append("some purchases have no cost: profit leaves them out")
    if found.cost_fen == 0:
        parts.append("no cost recorded: no return per yuan")
    return "; ".join(parts)
