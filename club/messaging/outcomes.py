"""What becomes of a message after a failed send: the rule, in one place.

Pure: standard library only. `after_failure` turns what the sender reported (`Failure`) and
the message's guarantee (`Guarantee`, from its channel) into what the outbox records:

| failure | customer service (at most once) | template (10 min) | mass |
| --- | --- | --- | --- |
| not sent (refused, busy, token) | retry with back-off | retry | retry |
| ambiguous (timeout, 5xx, drop) | outcome unknown, never again | retry 9 min, then unknown | yes |
| outside the window | skipped; its template goes instead | - | - |
| unreachable | skipped; the member is marked unreachable | same | same |
| quota used up | failed, tried again after midnight | same | same |
| rejected | failed | failed; unknown after an unanswered attempt | same |

Retries stop after `max_attempts`. A message no attempt of which is left (its attempts used up,
or rejected) failed for good only if every attempt was refused: once one went unanswered
(`maybe_sent`, kept on the row) it may have reached the member, and its outcome is unknown. A
refusal speaks for its own attempt only. "Outcome unknown" counts against the member's window
allowance and the weekly cap (WeChat may have delivered it). A campaign's mass send
(`club.campaigns.mass_outcome`) takes its retries and back-off from the mass column; a quota
answer ends it, and one that may have gone in an unanswered attempt ends outcome unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from club.messaging.kinds import TEMPLATE_DEDUP_WINDOW, Guarantee
from club.messaging.sending import Failure

MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)


class Outcome(StrEnum):
    """The outbox row's `outcome` column: what happened, finer than its status."""

    SENT = "sent"
    DRY_RUN = "dry_run"
    RETRY = "retry"
    OUTCOME_UNKNOWN = "outcome_unknown"
    OUTSIDE_WINDOW = "outside_window"
    UNREACHABLE = "unreachable"
    QUOTA = "quota"
    FAILED = "failed"
    REFUSED_BY_RULES = "refused_by_rules"
    """Not sent because our own rules said no at sending time (the window's allowance)."""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    retry_at: datetime | None = None
    """Set for RETRY and QUOTA: when the row may be claimed again."""
    maybe_sent: bool = False
    """An attempt so far, this one included, went unanswered: kept on the row for the next."""


def after_failure(
    failure: Failure,
    guarantee: Guarantee,
    *,
    attempts: int,
    first_attempt_at: datetime | None,
    now: datetime,
    maybe_sent: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
) -> Decision:
    """What to record after a send of a row (claimed `attempts` times) failed with `failure`;
    `maybe_sent`: an earlier attempt went unanswered."""
    maybe_sent = maybe_sent or failure is Failure.AMBIGUOUS
    if failure is Failure.OUTSIDE_WINDOW:
        return Decision(Outcome.OUTSIDE_WINDOW, maybe_sent=maybe_sent)
    if failure is Failure.UNREACHABLE:
        return Decision(Outcome.UNREACHABLE, maybe_sent=maybe_sent)
    if failure is Failure.QUOTA:
        return Decision(Outcome.QUOTA, retry_at=next_midnight(now), maybe_sent=maybe_sent)
    if failure is Failure.REJECTED or attempts >= max_attempts:
        # No attempt left: failed only if WeChat refused every one of them.
        final = Outcome.OUTCOME_UNKNOWN if maybe_sent else Outcome.FAILED
        return Decision(final, maybe_sent=maybe_sent)
    if failure is Failure.AMBIGUOUS and not _may_repeat(guarantee, first_attempt_at, now):
        return Decision(Outcome.OUTCOME_UNKNOWN, maybe_sent=True)
    return Decision(Outcome.RETRY, retry_at=now + backoff(attempts), maybe_sent=maybe_sent)


def _may_repeat(guarantee: Guarantee, first_attempt_at: datetime | None, now: datetime) -> bool:
    if guarantee is Guarantee.IDEMPOTENT:
        return True
    if guarantee is Guarantee.IDEMPOTENT_WINDOW:
        return first_attempt_at is not None and now - first_attempt_at < TEMPLATE_DEDUP_WINDOW
    return False


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt: 30 s, 1, 2, 4 ... minutes, at most an hour."""
    wait: timedelta = RETRY_BASE * 2 ** max(0, attempts - 1)
    return min(RETRY_MAX, wait)


def next_midnight(now: datetime) -> datetime:
    """WeChat's daily quotas reset at midnight, China time (`now` is in the club's zone)."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
