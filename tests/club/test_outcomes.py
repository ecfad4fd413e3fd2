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
        (Failure.QUOTA, TEMPLATE, 2, True, Outcome.QUOTA),
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
