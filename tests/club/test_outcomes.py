"""The outbox's rule after a failed send (`after_failure`), as a table: what a row comes to
by its channel's guarantee, its attempts, and whether an earlier attempt went unanswered."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.messaging.kinds import Guarantee
from club.messaging.outcomes import MAX_ATTEMPTS, Outcome, after_failure, before_attempt, withdrawn
from club.messaging.sending import Failure

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TEMPLATE, CUSTOM = Guarantee.IDEMPOTENT_WINDOW, Guarantee.AT_MOST_ONCE
LAST = MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("failure", "guarantee", "attempts", "maybe_sent", "expected"),
    [
        (Failure.AMBIGUOUS, TEMPLATE, 1, False, Outcome.RETRY),
        (Failure.AMBIGUOUS, TEMPLATE, LAST, False, Outcome.OUTCOME_UNKNOWN),
        (Failure.AMBIGUOUS, CUSTOM, 1, False, Outcome.OUTCOME_UNKNOWN),
        (Failure.NOT_SENT, TEMPLATE, 2, True, Outcome.RETRY),
        (Failure.NOT_SENT, TEMPLATE, LAST, True, Outcome.OUTCOME_UNKNOWN),
        (Failure.NOT_SENT, TEMPLATE, LAST, False, Outcome.FAILED),
        (Failure.REJECTED, TEMPLATE, 2, True, Outcome.OUTCOME_UNKNOWN),
        (Failure.REJECTED, TEMPLATE, 1, False, Outcome.FAILED),
        (Failure.REJECTED, CUSTOM, 1, False, Outcome.FAILED),
        (Failure.QUOTA, TEMPLATE, 2, False, Outcome.QUOTA),
        (Failure.QUOTA, TEMPLATE, 2, True, Outcome.OUTCOME_UNKNOWN),  # midnight is hours away
        (Failure.UNREACHABLE, TEMPLATE, 2, False, Outcome.UNREACHABLE),
        (Failure.UNREACHABLE, TEMPLATE, 2, True, Outcome.OUTCOME_UNKNOWN),
    ],
)
def test_a_row_with_no_attempt_left_failed_only_if_every_attempt_was_refused(
    failure: Failure, guarantee: Guarantee, attempts: int, maybe_sent: bool, expected: Outcome
) -> None:
    decision = after_failure(
        failure,
        guarantee,
        attempts=attempts,
        first_attempt_at=NOW - timedelta(minutes=1),
        now=NOW,
        maybe_sent=maybe_sent,
    )
    assert decision.outcome is expected
    # Remembered for the next attempt: once unanswered, always possibly sent.
    assert decision.maybe_sent is (maybe_sent or failure is Failure.AMBIGUOUS)


def evening(hour: int, minute: int) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


@pytest.mark.parametrize(
    ("failure", "attempts", "first", "now", "expected"),
    [
        # 45009 waits for midnight: 8 minutes after the unanswered first attempt, inside the
        # window; 15 minutes after it, past.
        (Failure.QUOTA, 2, evening(23, 52), evening(23, 53), Outcome.QUOTA),
        (Failure.QUOTA, 2, evening(23, 45), evening(23, 46), Outcome.OUTCOME_UNKNOWN),
        # Busy on the fourth attempt, 7 minutes in: its back-off (4 minutes) ends past the
        # window, though the window is still open when the answer comes.
        (Failure.NOT_SENT, 4, evening(12, 0), evening(12, 7), Outcome.OUTCOME_UNKNOWN),
        (Failure.NOT_SENT, 3, evening(12, 0), evening(12, 3), Outcome.RETRY),
        (Failure.AMBIGUOUS, 4, evening(12, 0), evening(12, 7), Outcome.OUTCOME_UNKNOWN),
        # No attempt left: unknown, even for the quota (it would never be claimed again).
        (Failure.QUOTA, LAST, evening(23, 58), evening(23, 59), Outcome.OUTCOME_UNKNOWN),
    ],
)
def test_a_retry_of_a_message_that_may_have_gone_is_judged_for_when_it_would_run(
    failure: Failure, attempts: int, first: datetime, now: datetime, expected: Outcome
) -> None:
    """An earlier attempt went unanswered: a retry goes only if it is due while WeChat's
    de-duplication window (from the first attempt) still covers it, judged when the attempt
    fails."""
    decision = after_failure(
        failure, TEMPLATE, attempts=attempts, first_attempt_at=first, now=now, maybe_sent=True
    )
    assert decision.outcome is expected and decision.maybe_sent
    assert (decision.retry_at is None) is (expected is Outcome.OUTCOME_UNKNOWN)


YESTERDAY = NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("failure", "attempts", "first", "unanswered", "now", "expected"),
    [
        # 45009 yesterday (refused: it never went), unanswered just after midnight: the window
        # opens with that attempt, so the back-off's retry a minute later is inside it.
        (Failure.AMBIGUOUS, 2, YESTERDAY, None, evening(0, 1), Outcome.RETRY),
        # Busy at 09:00, unanswered at 12:00, busy again at 12:03: 3 minutes into the window.
        (Failure.NOT_SENT, 3, evening(9, 0), evening(12, 0), evening(12, 3), Outcome.RETRY),
        # ... and 45009 at 23:58 after an attempt unanswered at 23:55: midnight is inside it.
        (Failure.QUOTA, 3, evening(9, 0), evening(23, 55), evening(23, 58), Outcome.QUOTA),
        # Still judged from the unanswered attempt: past it, unknown.
        (
            Failure.NOT_SENT,
            3,
            evening(9, 0),
            evening(12, 0),
            evening(12, 8),
            Outcome.OUTCOME_UNKNOWN,
        ),
    ],
)
def test_the_window_is_counted_from_the_attempt_that_went_unanswered(
    failure: Failure,
    attempts: int,
    first: datetime,
    unanswered: datetime | None,
    now: datetime,
    expected: Outcome,
) -> None:
    """WeChat can only have had the message since an attempt that went unanswered; attempts
    refused before it (45009, busy) sent nothing, so they do not shorten the window."""
    decision = after_failure(
        failure,
        TEMPLATE,
        attempts=attempts,
        first_attempt_at=first,
        now=now,
        maybe_sent=unanswered is not None,
        maybe_sent_at=unanswered,
    )
    assert decision.outcome is expected and decision.maybe_sent
    # Kept on the row: the first unanswered attempt's time (this one's, if it is the first).
    assert decision.maybe_sent_at == (unanswered or now)


def test_a_row_marked_before_the_time_was_kept_counts_from_its_first_attempt() -> None:
    """Rows marked `maybe_sent` before `maybe_sent_at` existed: the first attempt is never
    later than the unanswered one, so counting from it never repeats a message."""
    decision = after_failure(
        Failure.NOT_SENT,
        TEMPLATE,
        attempts=2,
        first_attempt_at=NOW - timedelta(minutes=9),
        now=NOW,
        maybe_sent=True,
    )
    assert decision.outcome is Outcome.OUTCOME_UNKNOWN


@pytest.mark.parametrize(
    ("guarantee", "unanswered", "now", "allowed"),
    [
        (TEMPLATE, evening(12, 0), evening(12, 8), True),
        # Judged inside the window at 12:07 (retry due 12:08), but the workers were down and
        # the retry runs at 12:15: WeChat no longer de-duplicates it.
        (TEMPLATE, evening(12, 0), evening(12, 15), False),
        (TEMPLATE, None, evening(12, 15), True),  # nothing unanswered: nothing to repeat
        (Guarantee.IDEMPOTENT, evening(12, 0), evening(18, 0), True),  # a mass send's id
    ],
)
def test_a_retry_is_judged_again_when_it_runs(
    guarantee: Guarantee, unanswered: datetime | None, now: datetime, allowed: bool
) -> None:
    decision = before_attempt(
        guarantee,
        first_attempt_at=evening(11, 0),
        maybe_sent=unanswered is not None,
        maybe_sent_at=unanswered,
        now=now,
    )
    if allowed:
        assert decision is None
    else:
        assert decision is not None and decision.outcome is Outcome.OUTCOME_UNKNOWN


@pytest.mark.parametrize(
    ("maybe_sent", "expected"),
    [(False, Outcome.REFUSED_BY_RULES), (True, Outcome.OUTCOME_UNKNOWN)],
)
def test_a_message_taken_back_before_its_next_attempt(maybe_sent: bool, expected: Outcome) -> None:
    """Taken back (a campaign cancelled, or its member sent another way once the quota is
    spent): never sent, unless an attempt went unanswered; then it may have reached the member,
    and is outcome unknown (and goes no other way: that could be a second message)."""
    assert withdrawn(maybe_sent) is expected
