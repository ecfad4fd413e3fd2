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

(*) unknown after an unanswered attempt. (**) after one, only if midnight is within 9 minutes
of it.

Retries stop after `max_attempts`. A message no attempt of which is left (its attempts used up,
or rejected) failed for good only if every attempt was refused: once one went unanswered
(`maybe_sent`, kept on the row with its time, `maybe_sent_at`) it may have reached the member,
and its outcome is unknown. A refusal speaks for its own attempt only: a member who unfollowed
(43004) is marked unreachable, and a message one attempt of which went unanswered before may
have reached them all the same.

A retry of a message that may have gone is allowed only while WeChat's de-duplication still
covers it (`may_repeat`): for a template, `client_msg_id`'s 10 minutes counted from the first
attempt that went unanswered (attempts refused before it sent nothing; a later unanswered one
cannot move the start: WeChat may have had the earlier). It is judged twice: when the attempt
fails, for the time the retry is due (a template message's 45009 waits for midnight, mostly
hours past the window, so after an unanswered attempt it ends outcome unknown instead), and
again when the retry is claimed (`before_attempt`: workers down past the window leave it due
late, and sent then it could show twice). A message taken back before its next attempt (a
campaign cancelled, or its member sent another way once the quota is spent: `withdrawn`) is
skipped, never sent; one that may have gone is outcome unknown instead, and goes no other way.
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
    maybe_sent_at: datetime | None = None
    """When the first attempt that went unanswered was made (this one's time if it is that
    one): kept on the row, WeChat's de-duplication window is counted from it."""


def after_failure(
    failure: Failure,
    guarantee: Guarantee,
    *,
    attempts: int,
    first_attempt_at: datetime | None,
    now: datetime,
    maybe_sent: bool = False,
    maybe_sent_at: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> Decision:
    """What to record after the send of a row (claimed `attempts` times, first at
    `first_attempt_at`) made at `now` failed with `failure`; `maybe_sent`: an earlier attempt
    went unanswered, the first such at `maybe_sent_at`."""
    since = unanswered_since(maybe_sent, maybe_sent_at, first_attempt_at)
    if since is None and failure is Failure.AMBIGUOUS:
        since = now  # this attempt is the first that may have reached WeChat
    maybe_sent = maybe_sent or failure is Failure.AMBIGUOUS
    unknown = Decision(Outcome.OUTCOME_UNKNOWN, maybe_sent=True, maybe_sent_at=since)
    if failure is Failure.OUTSIDE_WINDOW:
        return Decision(Outcome.OUTSIDE_WINDOW, maybe_sent=maybe_sent, maybe_sent_at=since)
    if failure is Failure.UNREACHABLE:
        # Not following now; an unanswered attempt before may still have reached the member.
        return unknown if maybe_sent else Decision(Outcome.UNREACHABLE)
    last = attempts >= max_attempts
    if failure is Failure.REJECTED or (last and failure is not Failure.QUOTA):
        # No attempt left: failed only if WeChat refused every one of them.
        return unknown if maybe_sent else Decision(Outcome.FAILED)
    outcome, retry_at = (
        (Outcome.QUOTA, next_midnight(now))
        if failure is Failure.QUOTA
        else (Outcome.RETRY, now + backoff(attempts))
    )
    # Judged now for the time the retry is due (and again when it runs: `before_attempt`): a
    # message that may have gone is sent again only while WeChat's de-duplication covers it.
    if maybe_sent and (last or not may_repeat(guarantee, since, retry_at)):
        return unknown
    return Decision(outcome, retry_at=retry_at, maybe_sent=maybe_sent, maybe_sent_at=since)


def before_attempt(
    guarantee: Guarantee,
    *,
    first_attempt_at: datetime | None,
    maybe_sent: bool,
    maybe_sent_at: datetime | None,
    now: datetime,
) -> Decision | None:
    """A row claimed for another attempt at `now`: None if it may be sent; outcome unknown if
    an earlier attempt went unanswered and WeChat's de-duplication no longer covers `now` (its
    retry was due inside the window, but nothing sent it in time)."""
    since = unanswered_since(maybe_sent, maybe_sent_at, first_attempt_at)
    if since is None or may_repeat(guarantee, since, now):
        return None
    return Decision(Outcome.OUTCOME_UNKNOWN, maybe_sent=True, maybe_sent_at=since)


def withdrawn(maybe_sent: bool) -> Outcome:
    """What a message taken back before its next attempt comes to: refused by our rules (never
    sent), or, if an attempt went unanswered, outcome unknown: it may have reached the member,
    so it is not sent another way either (that could be a second message)."""
    return Outcome.OUTCOME_UNKNOWN if maybe_sent else Outcome.REFUSED_BY_RULES


def unanswered_since(
    maybe_sent: bool, maybe_sent_at: datetime | None, first_attempt_at: datetime | None
) -> datetime | None:
    """Since when WeChat may have the message: the first attempt that went unanswered; None if
    none did. A row marked before its time was kept (migration 0030), or by a sender that died
    (its attempt's start is not kept), counts from its first attempt, which is never later."""
    if not maybe_sent:
        return None
    return maybe_sent_at or first_attempt_at


def repeatable_after(at: datetime) -> datetime:
    """A template message first unanswered after this time may still be sent again at `at`
    (WeChat shows one message per `client_msg_id` within its window)."""
    return at - TEMPLATE_DEDUP_WINDOW


def may_repeat(guarantee: Guarantee, since: datetime | None, at: datetime | None) -> bool:
    """Whether a message with this guarantee, which WeChat may have had since `since` (its
    first unanswered attempt), may be sent again at `at` without showing twice."""
    if guarantee is Guarantee.IDEMPOTENT:
        return True
    if guarantee is Guarantee.IDEMPOTENT_WINDOW:
        return since is not None and at is not None and since > repeatable_after(at)
    return False


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt: 30 s, 1, 2, 4 ... minutes, at most an hour."""
    wait: timedelta = RETRY_BASE * 2 ** max(0, attempts - 1)
    return min(RETRY_MAX, wait)


def next_midnight(now: datetime) -> datetime:
    """WeChat's daily quotas reset at midnight, China time (`now` is in the club's zone)."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
