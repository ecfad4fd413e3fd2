"""What becomes of a message after a failed send: the rule, in one place.

Pure: standard library only. `after_failure` turns what the sender reported (`Failure`) and
the message's guarantee (`Guarantee`, from its channel) into what the outbox records:

| failure | customer service (at most once) | template (10 min) | mass |
| --- | --- | --- | --- |
| not sent (refused, busy, token) | retry with back-off | retry | retry |
| ambiguous (timeout, 5xx, drop) | outcome unknown, never again | retry 9 min, then unknown | yes |
| outside the window | skipped; its template goes instead | - | - |
| unreachable | skipped; the member is marked unreachable | same (*) | same |
| quota used up | failed, tried again after midnight | same (*, **) | same |
| rejected | failed | failed (*) | same |

(*) unknown after an unanswered attempt. (**) unless midnight is past the 9 minutes.

Retries stop after `max_attempts`. A message no attempt of which is left (its attempts used up,
or rejected) failed for good only if every attempt was refused: once one went unanswered
(`maybe_sent`, kept on the row) it may have reached the member, and its outcome is unknown. A
refusal speaks for its own attempt only: a member who unfollowed (43004) is marked unreachable,
and a message one attempt of which went unanswered before may have reached them all the same.
A retry of a message that may have gone is allowed only if it is due while WeChat's
de-duplication still covers it (`may_repeat`), and that is judged when the attempt fails, for
the time the retry is due: a template message's 45009 waits for midnight, mostly hours past
`client_msg_id`'s 10 minutes, so after an unanswered attempt it ends outcome unknown instead.
"Outcome unknown" counts against the member's window allowance and the weekly cap (WeChat may
have delivered it). A campaign's mass send (`club.campaigns.mass_outcome`) takes its retries and
back-off from the mass column; a quota answer ends it, and one that may have gone in an
unanswered attempt ends outcome unknown.
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
    """What to record after a send of a row (claimed `attempts` times, first at
    `first_attempt_at`) failed with `failure` at `now`; `maybe_sent`: an earlier attempt went
    unanswered."""
    maybe_sent = maybe_sent or failure is Failure.AMBIGUOUS
    unknown = Decision(Outcome.OUTCOME_UNKNOWN, maybe_sent=True)
    if failure is Failure.OUTSIDE_WINDOW:
        return Decision(Outcome.OUTSIDE_WINDOW, maybe_sent=maybe_sent)
    if failure is Failure.UNREACHABLE:
        # Not following now; an unanswered attempt before may still have reached the member.
        return unknown if maybe_sent else Decision(Outcome.UNREACHABLE)
    last = attempts >= max_attempts
    if failure is Failure.REJECTED or (last and failure is not Failure.QUOTA):
        # No attempt left: failed only if WeChat refused every one of them.
        return unknown if maybe_sent else Decision(Outcome.FAILED)
    if failure is Failure.QUOTA:
        again = Decision(Outcome.QUOTA, retry_at=next_midnight(now), maybe_sent=maybe_sent)
    else:
        again = Decision(Outcome.RETRY, retry_at=now + backoff(attempts), maybe_sent=maybe_sent)
    # Judged now, for the time the retry is due (not when it runs): a message that may have
    # gone is sent again only while WeChat's de-duplication still covers that time.
    if maybe_sent and (last or not may_repeat(guarantee, first_attempt_at, again.retry_at)):
        return unknown
    return again


def may_repeat(
    guarantee: Guarantee, first_attempt_at: datetime | None, at: datetime | None
) -> bool:
    """Whether a message with this guarantee, first tried at `first_attempt_at`, may be sent
    again at `at` without showing twice. A template's window is counted from its first attempt,
    which is never later than the first one that went unanswered (the one WeChat may have)."""
    if guarantee is Guarantee.IDEMPOTENT:
        return True
    if guarantee is Guarantee.IDEMPOTENT_WINDOW:
        return (
            first_attempt_at is not None
            and at is not None
            and at - first_attempt_at < TEMPLATE_DEDUP_WINDOW
        )
    return False


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt: 30 s, 1, 2, 4 ... minutes, at most an hour."""
    wait: timedelta = RETRY_BASE * 2 ** max(0, attempts - 1)
    return min(RETRY_MAX, wait)


def next_midnight(now: datetime) -> datetime:
    """WeChat's daily quotas reset at midnight, China time (`now` is in the club's zone)."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
