"""A campaign's bonus points go with its message: reserved when the member is planned, credited
once the message has gone (or may have), given back to the budget when it never goes.

At fan-out (`club.campaigns.fanout.prepare`) each recipient planned for a message (customer
service, template, or the run's mass send) has the bonus reserved from the budget in the
batch's transaction (`club.campaigns.budget`: the campaign's `points_reserved`, the recipient's
`bonus_reserved`), so awards stop exactly when the budget is spent however many workers plan at
once. Nothing is credited then. `settle` gives each reservation its fate once the member's
message is at rest (`fate`):
- kept: credited to the member (ledger ref `campaign:<id>:<member>`, once ever) and counted in
  the campaign's `points_awarded` and cost. The message went (sent, or a dry run) or may have
  (outcome unknown: WeChat never answered, whatever the channel);
- given back to the budget, for the members planned after: the message never goes (withdrawn
  when the campaign was cancelled, refused by WeChat or by the window's rules, the mass send
  refused or cancelled before it went, or the member left out of it for the monthly limit).
A message queued, being sent, waiting for the day's quota or for the mass send keeps its
reservation. So a member's 明细 shows a campaign's bonus only for a message that came, or may
have: never a credit and then its reversal.

Settling is one transaction a page of recipients: their rows are locked (`FOR UPDATE SKIP
LOCKED` on PostgreSQL: two settlers share a page instead of waiting for each other), the
reservation moved to `points` (kept) or cleared, the credits written (`club.points.bulk`) and
the campaign's counters moved. A worker that dies anywhere in it leaves all of it undone: the
reservation stays, and the next settling gives it its fate. Who settles: the worker that sent a
batch, after each group of sends (`club.campaigns.fanout`); the mass send's task once it knows
how the send went (`club.campaigns.mass`); a cancel, for the members it skipped (releases
only: a credit needs the programme's expiry rule); and the scheduler's tick every half-minute,
for whatever a dead worker, the outbox sweep or a cancel left (`settle_due`).

A customer-service row the window refused is skipped, then sent again as its template by the
same sender (`club.messaging.delivery.fallback`): such a row without its template copy counts as
never sent only once `FALLBACK_GRACE` has passed since it was claimed (a live sender writes the
copy within a send's time; a dead one never will). A row withdrawn and its recipient moved on
(`club.campaigns.unsent.take_back`) change in one transaction, so a settler never sees a
withdrawn row whose member is about to go by the mass send.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from club.db import tx
from club.db.models.campaigns import Campaign
from club.db.raw import Params, dialect, execute, rows
from club.messaging.outcomes import Outcome
from club.points.bulk import Credit, credit_many
from club.rules import reasons
from club.rules.campaigns import RecipientState
from club.rules.expiry import expires_at
from club.rules.programme import ExpiryRule

log = logging.getLogger(__name__)

PAGE = 500
"""Recipients settled in one transaction."""
FALLBACK_GRACE = timedelta(minutes=5)
"""A customer-service row the window refused, with no template copy this long after its claim,
has none coming: a send (one HTTP call, its quick retries) takes under a minute, then the copy
is written."""


class Fate(StrEnum):
    KEEP = "keep"
    RELEASE = "release"


def fate(state: str, status: str | None, outcome: str | None, copy_may_come: bool) -> Fate | None:
    """What becomes of a recipient's reserved bonus, given its state and its message's row (the
    template copy's when the window sent one instead): None while the message may still go.
    `copy_may_come`: a customer-service row the window refused, whose template copy its sender
    may be about to write (claimed less than `FALLBACK_GRACE` ago)."""
    if state in (RecipientState.MASS_SENT, RecipientState.MASS_UNKNOWN):
        return Fate.KEEP
    if state == RecipientState.SKIPPED:
        return Fate.RELEASE
    if state != RecipientState.MESSAGED:
        return None  # pending, or waiting for the mass send
    if status == "sent" or (status == "failed" and outcome == Outcome.OUTCOME_UNKNOWN):
        return Fate.KEEP
    if status == "failed" and outcome != Outcome.QUOTA:
        return Fate.RELEASE  # refused by WeChat
    if status == "skipped" and not copy_may_come:
        return Fate.RELEASE  # unreachable, refused by the rules, out of the window for good
    return None  # queued, being sent, waiting for the quota, or its copy about to be written


_CANDIDATES = """
SELECT r.id, r.member_id, r.bonus_reserved, r.state, COALESCE(c.status, o.status) AS status,
       COALESCE(c.outcome, o.outcome) AS outcome,
       CASE WHEN c.id IS NULL AND o.channel = 'custom'
                 AND o.outcome IN ('outside_window', 'refused_by_rules')
                 AND o.updated_at > {quiet_since} THEN 1 ELSE 0 END AS copy_may_come
FROM campaign_recipient r
LEFT JOIN outbox_message o ON o.id = r.outbox_id
LEFT JOIN outbox_message c ON c.idempotency_key = o.idempotency_key || ':template'
WHERE {scope} AND r.bonus_reserved > 0
ORDER BY r.id LIMIT {page}
"""
"""A page of reserved recipients with what their message came to (`r.bonus_reserved > 0` as a
literal: the partial index `campaign_recipient_reserved` of migration 0031 answers it)."""
_LOCKED = " FOR UPDATE OF r SKIP LOCKED"
"""PostgreSQL: the page's rows are locked for the settling; those another settler holds are left
to it, never waited for (nor settled twice: the reservation is read under the lock)."""


@dataclass
class Settled:
    kept: int = 0
    """Points credited."""
    released: int = 0
    """Points given back to the budget."""

    def add(self, other: Settled) -> None:
        self.kept += other.kept
        self.released += other.released


async def settle(
    campaign: Campaign,
    now: datetime,
    rule: ExpiryRule | None,
    *,
    recipients: Sequence[int] | None = None,
    pages: int | None = None,
) -> Settled:
    """Give the reserved bonus of the campaign's recipients whose message is at rest its fate:
    of `recipients` only, or of all (at most `pages` pages a state). Without the programme's
    expiry `rule`, only releases (a credit's points expire by it)."""
    done = Settled()
    if recipients is not None:
        for start in range(0, len(recipients), PAGE):
            page = [int(i) for i in recipients[start : start + PAGE]]
            settled, _ = await _page(campaign, now, rule, Scope(ids=page))
            done.add(settled)
        return done
    states = [RecipientState.SKIPPED, RecipientState.MESSAGED]
    if rule is not None:
        states += [RecipientState.MASS_SENT, RecipientState.MASS_UNKNOWN]
    for state in states:
        last: int | None = 0
        for _ in itertools.repeat(None) if pages is None else range(pages):
            scope = Scope(campaign_id=campaign.id, state=state, after=last or 0)
            settled, last = await _page(campaign, now, rule, scope)
            done.add(settled)
            if last is None:
                break
    return done


async def release(campaign_id: int, now: datetime) -> Settled:
    """Give back the reservations of the campaign's members whose message will never go (a
    cancel: the members it skipped)."""
    campaign = await Campaign.get(id=campaign_id)
    if campaign.points_reserved <= 0:
        return Settled()
    return await settle(campaign, now, None)


async def settle_due(rule: ExpiryRule, now: datetime, *, pages: int = 20) -> Settled:
    """The scheduler's step: settle every campaign holding reservations (what a worker that
    died, the outbox sweep or a cancel left), at most `pages` pages a campaign and state (the
    rest at the next tick)."""
    done = Settled()
    for campaign in await Campaign.filter(points_reserved__gt=0).order_by("id"):
        settled = await settle(campaign, now, rule, pages=pages)
        if settled.kept or settled.released:
            log.info(
                "campaign %s: bonus settled by the scheduler: %d points credited, %d given back",
                campaign.id,
                settled.kept,
                settled.released,
            )
        done.add(settled)
    return done


@dataclass(frozen=True)
class Scope:
    """The recipients a page is read from: these ids, or a campaign's in a state from an id."""

    ids: list[int] | None = None
    campaign_id: int = 0
    state: RecipientState = RecipientState.MESSAGED
    after: int = 0

    def where(self, p: Params) -> str:
        if self.ids is not None:
            return p.one_of("r.id", self.ids, "bigint")
        return (
            f"r.campaign_id = {p.add(self.campaign_id)} AND r.state = {p.add(self.state.value)}"
            f" AND r.id > {p.add(self.after)}"
        )


async def _page(
    campaign: Campaign, now: datetime, rule: ExpiryRule | None, scope: Scope
) -> tuple[Settled, int | None]:
    """Settle one page of reserved recipients, in one transaction: what it came to, and the last
    recipient id it read (None: nothing left to read)."""
    async with tx.transaction() as conn:
        p = Params(dialect(conn))
        quiet_since = p.add(now - FALLBACK_GRACE)
        sql = _CANDIDATES.format(quiet_since=quiet_since, scope=scope.where(p), page=PAGE)
        found = await rows(sql + (_LOCKED if p.postgres else ""), p.values, conn)
        if not found:
            return Settled(), None
        keep, gone = [], []
        for r in found:
            decided = fate(str(r["state"]), r["status"], r["outcome"], bool(r["copy_may_come"]))
            if decided is Fate.KEEP and rule is not None:
                keep.append(r)
            elif decided is Fate.RELEASE:
                gone.append(r)
        settled = Settled(_points(keep), _points(gone))
        if keep or gone:
            await _move(keep, gone, conn)
        if keep:
            assert rule is not None  # kept only with the rule (above)
            await _credit(campaign, keep, now, rule, conn)
        if keep or gone:
            await execute(
                "UPDATE campaign SET points_reserved = points_reserved - $1,"
                " points_awarded = points_awarded + $2 WHERE id = $3",
                [settled.kept + settled.released, settled.kept, campaign.id],
                conn,
            )
        return settled, int(found[-1]["id"])


def _points(found: list[dict[str, Any]]) -> int:
    return sum(int(r["bonus_reserved"]) for r in found)


async def _move(
    keep: list[dict[str, Any]], gone: list[dict[str, Any]], conn: BaseDBAsyncClient
) -> None:
    """The reservations of the rows kept move to their `points`; those given back are cleared."""
    p = Params(dialect(conn))
    keeping = p.one_of("id", [int(r["id"]) for r in keep] or [0], "bigint")
    where = p.one_of("id", [int(r["id"]) for r in keep + gone], "bigint")
    await execute(
        "UPDATE campaign_recipient SET bonus_reserved = 0, points = points"
        f" + CASE WHEN {keeping} THEN bonus_reserved ELSE 0 END WHERE {where}",
        p.values,
        conn,
    )


async def _credit(
    campaign: Campaign,
    kept: list[dict[str, Any]],
    now: datetime,
    rule: ExpiryRule,
    conn: BaseDBAsyncClient,
) -> None:
    reason = reasons.write("campaign_bonus", campaign=campaign.name)
    credits = [
        Credit(
            int(r["member_id"]),
            int(r["bonus_reserved"]),
            f"campaign:{campaign.id}:{r['member_id']}",
            reason,
        )
        for r in kept
    ]
    await credit_many(credits, now=now, expires_at=expires_at(now, rule), connection=conn)
