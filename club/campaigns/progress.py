"""Where a campaign's recipients stand, by reason: one grouped query over its recipient rows and
their outbox rows (a customer-service row the window refused counts as its template copy); for
many campaigns (the list, `/metrics`) the same query grouped by campaign as well, once.

Counts add up: recipients = held out + pending + queued + sent + failed + skipped + mass
waiting. `sent` is by channel (customer service, template, mass; dry-run sends count as sent).
The members of a mass send WeChat never answered count as failed `outcome_unknown`, as a
message the outbox could not know the fate of does.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from club.db.models.campaigns import Campaign, CampaignRun
from club.db.raw import Params, dialect, execute, rows
from club.messaging.outcomes import Outcome
from club.rules.campaigns import CampaignStatus, RecipientState, RunStatus

_PROGRESS = """
SELECT r.run_id AS run_id, r.state AS state, r.reason AS reason,
       COALESCE(c.status, o.status) AS status,
       COALESCE(c.outcome, o.outcome) AS outcome,
       COALESCE(c.channel, o.channel) AS channel,
       COUNT(*) AS n, COALESCE(SUM(r.points), 0) AS points,
       COALESCE(SUM(r.bonus_reserved), 0) AS reserved
FROM campaign_recipient r
LEFT JOIN outbox_message o ON o.id = r.outbox_id
LEFT JOIN outbox_message c ON c.idempotency_key = o.idempotency_key || ':template'
WHERE {runs}
GROUP BY r.run_id, r.state, r.reason, COALESCE(c.status, o.status),
         COALESCE(c.outcome, o.outcome), COALESCE(c.channel, o.channel)
"""
_FINISHED = (RunStatus.DONE.value, RunStatus.CANCELLED.value)


@dataclass
class Progress:
    recipients: int = 0
    held_out: int = 0
    pending: int = 0
    queued: int = 0
    sent: int = 0
    mass_waiting: int = 0
    points_awarded: int = 0
    """Bonus points credited (the message went, or may have)."""
    points_reserved: int = 0
    """Bonus points reserved for members whose message is not at rest yet, or whose bonus is
    not settled yet (`club.campaigns.bonus`)."""
    sent_by_channel: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def at_rest(self) -> bool:
        """Nobody waits to be sent, and every bonus is credited or given back: every count is
        final."""
        return self.pending == self.queued == self.mass_waiting == self.points_reserved == 0

    def add(self, other: Progress) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _REASONS:
            getattr(self, name).update(getattr(other, name))

    def to_json(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in _COUNTS},
            **{name: dict(getattr(self, name)) for name in _REASONS},
        }

    @classmethod
    def from_json(cls, stored: Any) -> Progress:
        data = json.loads(stored) if isinstance(stored, str | bytes) else stored
        found = cls()
        for name in _COUNTS:
            setattr(found, name, int(data.get(name, 0)))
        for name in _REASONS:
            setattr(found, name, Counter({k: int(v) for k, v in data.get(name, {}).items()}))
        return found

    def adds_up(self) -> bool:
        return self.recipients == (
            self.held_out
            + self.pending
            + self.queued
            + self.sent
            + self.mass_waiting
            + sum(self.failed.values())
            + sum(self.skipped.values())
        )


_COUNTS = (
    "recipients",
    "held_out",
    "pending",
    "queued",
    "sent",
    "mass_waiting",
    "points_awarded",
    "points_reserved",
)
_REASONS = ("sent_by_channel", "failed", "skipped")


async def progress(campaign_id: int) -> Progress:
    return (await progress_of([campaign_id]))[campaign_id]


async def progress_of(campaign_ids: Sequence[int]) -> dict[int, Progress]:
    """Each campaign's progress (a campaign without recipients: all zero): the stored counts of
    its settled runs, and one query over the recipients of its runs still moving, for all the
    campaigns at once. A finished run whose recipients have all come to rest is settled: its
    counts are stored on the run the first time they are read so, and read from there after (a
    list of big finished campaigns would otherwise count millions of rows at every look)."""
    found = {int(i): Progress() for i in campaign_ids}
    if not found:
        return found
    runs: list[Any] = await CampaignRun.filter(campaign_id__in=list(found)).values_list(
        "id", "campaign_id", "status", "progress"
    )
    moving: dict[int, tuple[int, bool]] = {}
    for run_id, campaign_id, status, stored in runs:
        if stored is not None:
            found[int(campaign_id)].add(Progress.from_json(stored))
        else:
            moving[int(run_id)] = (int(campaign_id), str(status) in _FINISHED)
    if not moving:
        return found
    p = Params(dialect())
    sql = _PROGRESS.format(runs=p.one_of("r.run_id", list(moving), "bigint"))
    counted: dict[int, Progress] = {}
    for row in await rows(sql, p.values):
        _add(counted.setdefault(int(row["run_id"]), Progress()), row)
    for run_id, run_counts in counted.items():
        found[moving[run_id][0]].add(run_counts)
    await _settle({r: c for r, c in counted.items() if moving[r][1] and c.at_rest()})
    return found


async def _settle(runs: dict[int, Progress]) -> None:
    """Store these finished runs' final counts, in one statement (so that reading a list stays
    a constant number of statements); a run settled meanwhile by another reader is left."""
    if not runs:
        return
    p = Params(dialect())
    cast = "::jsonb" if p.postgres else ""
    cases = " ".join(
        f"WHEN {p.add(run_id)} THEN {p.add(json.dumps(counted.to_json()))}{cast}"
        for run_id, counted in runs.items()
    )
    await execute(
        f"UPDATE campaign_run SET progress = CASE id {cases} END"
        f" WHERE {p.one_of('id', list(runs), 'bigint')} AND progress IS NULL",
        p.values,
    )


def _add(p: Progress, row: dict[str, Any]) -> None:
    n = int(row["n"])
    p.recipients += n
    p.points_awarded += int(row["points"])
    p.points_reserved += int(row["reserved"])
    state = str(row["state"])
    if state == RecipientState.HOLDOUT:
        p.held_out += n
    elif state == RecipientState.PENDING:
        p.pending += n
    elif state == RecipientState.SKIPPED:
        p.skipped[str(row["reason"] or "unknown")] += n
    elif state == RecipientState.MASS:
        p.mass_waiting += n
    elif state == RecipientState.MASS_SENT:
        p.sent += n
        p.sent_by_channel["mass"] += n
    elif state == RecipientState.MASS_UNKNOWN:  # as the outbox counts such a message
        p.failed[Outcome.OUTCOME_UNKNOWN.value] += n
    else:
        _add_outbox(p, row, n)


def _add_outbox(p: Progress, row: dict[str, Any], n: int) -> None:
    status = str(row["status"] or "queued")
    outcome = str(row["outcome"] or status)
    if status in ("queued", "sending"):
        p.queued += n
    elif status == "sent":
        p.sent += n
        p.sent_by_channel[str(row["channel"])] += n
    elif status == "failed":
        p.failed[outcome] += n
    else:
        p.skipped[outcome] += n


async def active() -> list[tuple[int, Progress]]:
    """Progress of the campaigns sending now (one-off sending or paused, or an automation with
    a run open): what `/metrics` shows."""
    sending: list[Any] = await Campaign.filter(
        status__in=[CampaignStatus.SENDING, CampaignStatus.PAUSED]
    ).values_list("id", flat=True)
    running: list[Any] = await CampaignRun.filter(
        status__in=[RunStatus.SENDING, RunStatus.MASS]
    ).values_list("campaign_id", flat=True)
    found = await progress_of(sorted({int(i) for i in [*sending, *running]}))
    return sorted(found.items())


def series(found: Progress) -> list[tuple[str, str, int]]:
    """(state, reason, count) for each non-zero count: the metric's label sets."""
    out = [
        ("held_out", "", found.held_out),
        ("pending", "", found.pending),
        ("queued", "", found.queued),
        ("mass_waiting", "", found.mass_waiting),
    ]
    out += [("sent", channel, n) for channel, n in sorted(found.sent_by_channel.items())]
    out += [("failed", reason, n) for reason, n in sorted(found.failed.items())]
    out += [("skipped", reason, n) for reason, n in sorted(found.skipped.items())]
    return [item for item in out if item[2]]


_RECIPIENTS = """
SELECT r.id, r.member_id, r.run_id, r.holdout, r.state, r.reason, r.points,
       COALESCE(c.channel, o.channel) AS channel,
       COALESCE(c.status, o.status) AS status,
       COALESCE(c.outcome, o.outcome) AS outcome,
       COALESCE(c.sent_at, o.sent_at) AS sent_at
FROM campaign_recipient r
LEFT JOIN outbox_message o ON o.id = r.outbox_id
LEFT JOIN outbox_message c ON c.idempotency_key = o.idempotency_key || ':template'
WHERE r.campaign_id = $1 AND r.id > $2
ORDER BY r.id LIMIT $3
"""
_MASS_CSV = {
    RecipientState.MASS_SENT.value: ("sent", ""),
    RecipientState.MASS_UNKNOWN.value: ("failed", Outcome.OUTCOME_UNKNOWN.value),
}
"""The status and outcome of a mass send's members (they have no outbox row of their own)."""
CSV_HEADER = "member_id,run_id,held_out,state,channel,status,outcome,reason,points,sent_at\n"


async def recipient_lines(campaign_id: int, page: int = 5000) -> AsyncIterator[str]:
    """The campaign's recipients as CSV, a page at a time (keyset pages: memory stays flat)."""
    yield CSV_HEADER
    last = 0
    while True:
        found = await rows(_RECIPIENTS, [campaign_id, last, page])
        if not found:
            return
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for r in found:
            state = str(r["state"])
            mass = _MASS_CSV.get(state)
            channel = "mass" if mass else r["channel"]
            writer.writerow(
                [
                    r["member_id"],
                    r["run_id"],
                    "yes" if r["holdout"] else "no",
                    state,
                    channel or "",
                    r["status"] or (mass[0] if mass else ""),
                    r["outcome"] or (mass[1] if mass else ""),
                    r["reason"] or "",
                    r["points"],
                    "" if r["sent_at"] is None else str(r["sent_at"]),
                ]
            )
        yield out.getvalue()
        last = int(found[-1]["id"])
