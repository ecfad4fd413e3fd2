"""The outbox's rule after a failed send (`after_failure`), as a table: what a row comes to
by its channel's guarantee, its attempts, and whether an earlier attempt went unanswered."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.messaging.kinds import Guarantee
from club.messaging.outcomes import MAX_ATTEMPTS, Outcome, after_failure
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
