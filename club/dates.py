"""The days and moments the club takes as input: 2000-01-01 to 2099-12-31.

Python's calendar ends at the years 1 and 9999, and a moment near either end fell off it when
moved to UTC or to the club's zone (OverflowError, in the database driver or in a report's
arithmetic): a 500 for a report, a segment rule or an audit filter, and a reward stored with such
a time on SQLite broke every later read of its table. Nothing the club does lies outside this
century: a date outside it is a typo or a placeholder ("9999-12-31" for "never", where null says
it), refused with the field named. A segment rule's bounds are only kept inside what can be
used (`AnyZoneMoment`): stored rules are read again with the same model.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
CALENDAR = f"from {FIRST_DAY} to {LAST_DAY}"

Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A day the club takes (YYYY-MM-DD)."""
Moment = Annotated[
    AwareDatetime,
    Field(
        ge=datetime.combine(FIRST_DAY, datetime.min.time(), UTC),
        le=datetime.combine(LAST_DAY, datetime.max.time(), UTC),
    ),
]
"""A moment the club takes: with a UTC offset, inside `CALENDAR` (UTC)."""

AnyZoneMoment = Annotated[
    AwareDatetime,
    Field(ge=datetime(1, 1, 2, tzinfo=UTC), le=datetime(9999, 12, 30, tzinfo=UTC)),
]
"""A moment that can still be moved to any zone (offsets reach 14 hours): for documents that are
stored and read again with the model that took them (segment rules), where `Moment` would
refuse a rule taken before; only what could never be used is refused."""
