"""Customer value per member, kept by the daily value-refresh and churn-scan jobs.

Segments and campaigns join these on `member_id` (value class, quadrant, churn risk), so they
are plain columns, one row per member who ever bought. The class history keeps every change of
class with its day: a member falling from A to B is news.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MemberValue(Model):
    """What a member is worth as of `day`: RFM scores, value class, value x potential."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField(unique=True)
    """The member (no foreign key: the table is rebuilt in one statement each day)."""
    day = fields.DateField()
    last_purchase_at = fields.DatetimeField()
    recency_days = fields.IntField()
    frequency = fields.IntField()
    """Purchases in the programme's value months."""
    monetary_fen = fields.BigIntField()
    """Net sales in the value months."""
    profit_fen = fields.BigIntField(null=True)
    """Profit of the purchases with a cost in the value months (None: none had one)."""
    missing_cost_purchases = fields.IntField()
    r_score = fields.SmallIntField()
    f_score = fields.SmallIntField()
    m_score = fields.SmallIntField()
    value_class = fields.CharField(max_length=1, db_index=True)
    """A, B or C by cumulative share of profit."""
    recent_fen = fields.BigIntField()
    """Spend in the last trend months."""
    prior_fen = fields.BigIntField()
    """Spend in the trend months before those."""
    potential = fields.CharField(max_length=16, null=True)
    """Why the member has potential: `rising` spend, or `near_tier` (close to the next tier)."""
    quadrant = fields.CharField(max_length=16, db_index=True)
    """`grow`, `keep`, `develop` (potential key customers) or `economise`."""

    class Meta:
        table = "member_value"


class ValueClassChange(Model):
    """A member's value class changed on `day` (from None: valued for the first time)."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField()
    day = fields.DateField()
    from_class = fields.CharField(max_length=1, null=True)
    to_class = fields.CharField(max_length=1)

    class Meta:
        table = "value_class_change"
        unique_together = (("member_id", "day"),)
        indexes = (("day",),)


class MemberChurn(Model):
    """A member flagged by the daily churn-scan as likely to leave, with why in words.

    One row per member flagged today; a member no longer at risk loses the row. `since` stays
    from the first day of an unbroken run of flags, so an automation can pick the members who
    entered the list since its last run (a win-back).
    """

    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField(unique=True)
    day = fields.DateField()
    """The scan that flagged the member last."""
    since = fields.DateField()
    purchases = fields.IntField()
    rhythm_days = fields.IntField(null=True)
    """The median gap between the member's purchases (None: too few purchases for a rhythm)."""
    silence_days = fields.IntField()
    """Days since the last purchase."""
    spend_fen = fields.BigIntField()
    """Net spend in the last 12 months."""
    spend_before_fen = fields.BigIntField()
    """Net spend in the 12 months before."""
    silent = fields.BooleanField()
    """Silence beyond the member's own rhythm times the programme's factor."""
    spend_fell = fields.BooleanField()
    """12-month spend fell by more than the programme's share."""
    reason_zh = fields.CharField(max_length=255)
    reason_en = fields.CharField(max_length=255)

    class Meta:
        table = "member_churn"


class ExitKind(StrEnum):
    UNFOLLOW = "unfollow"
    DORMANT = "dormant"
    """A follower with no purchase, message or scan for the programme's dormant days."""


class MemberExit(Model):
    """A member leaving (unfollowing) or going dormant, with what is known about them then.

    Written in the same statement that reads the context (the unfollow's one extra insert, or
    the daily scan), so the row keeps the tier, value class and recent history of that moment,
    however they change later.
    """

    id = fields.BigIntField(primary_key=True)
    member_id = fields.BigIntField(db_index=True)
    kind = fields.CharEnumField(ExitKind, max_length=16)
    at = fields.DatetimeField(db_index=True)
    """When: the unfollow, or the scan that found the member dormant."""
    last_active_at = fields.DatetimeField()
    """The unfollow itself; for dormancy the last purchase, message or scan (one row each)."""
    tier = fields.CharField(max_length=32, null=True)
    value_class = fields.CharField(max_length=1, null=True)
    tenure_days = fields.IntField()
    """Days from joining the club (for followers who never joined: from their last follow)."""
    joined = fields.BooleanField()
    source_kind = fields.CharField(max_length=16, null=True)
    source_ref = fields.CharField(max_length=64, null=True)
    origin_level = fields.CharField(max_length=16, null=True)
    """The channel level of the store whose QR code brought the member, if any."""
    last_purchase_at = fields.DatetimeField(null=True)
    last_message_at = fields.DatetimeField(null=True)
    last_failed_code_at = fields.DatetimeField(null=True)
    last_cancelled_redemption_at = fields.DatetimeField(null=True)
    last_complaint_at = fields.DatetimeField(null=True)
    """The member's last service ticket (人工客服) opened before leaving."""

    class Meta:
        table = "member_exit"
        unique_together = (("member_id", "kind", "last_active_at"),)


class Ranking(Model):
    """One period's ranking of every level's customers by sales and by profit, as computed on
    `as_of` under the value rules `rules` (`club.reports.rankings`): the value-refresh's
    snapshot of the default period, or a period a report asked for, kept for the day so that
    every page, list, level and download of it reads the ranking instead of re-ranking
    millions of purchases."""

    id = fields.BigIntField(primary_key=True)
    start_day = fields.DateField()
    end_day = fields.DateField()
    rules = fields.CharField(max_length=16)
    """The fingerprint of the value rules the profit was computed under."""
    as_of = fields.DateField()
    """The club day whose data it ranks."""
    snapshot = fields.BooleanField(default=False)
    """The value-refresh's ranking of the default period (else: asked for by a report)."""
    ahead = fields.BooleanField(default=False, db_default=False)
    """Ranked (or marked) by the nightly `rank-ahead` job: kept all day, whatever else is
    asked (`club.reports.ahead`)."""
    computed_at = fields.DatetimeField()
    read_at = fields.DatetimeField()
    """When a report last read it: the least recently read asked-for ranking goes first."""
    customers = fields.BigIntField(default=0)

    class Meta:
        table = "ranking"
        unique_together = (("start_day", "end_day", "rules", "as_of", "snapshot"),)


class CustomerValue(Model):
    """A customer of a level in a ranking (`Ranking`): what it bought in the period and its
    ranks; what the 80/20 report reads."""

    id = fields.BigIntField(primary_key=True)
    ranking_id = fields.BigIntField()
    """The `Ranking` (no foreign key: a ranking's rows are written in one statement after it and
    deleted with it by `club.reports.rankings`, and checking a million rows one by one took a
    third of the time of writing them)."""
    level = fields.CharField(max_length=16)
    kind = fields.CharField(max_length=16)
    member_id = fields.BigIntField(null=True)
    store_id = fields.CharField(max_length=32, null=True)
    account_id = fields.BigIntField(null=True)
    ref = fields.CharField(max_length=64)
    purchases = fields.BigIntField()
    sales = fields.BigIntField()
    profit = fields.BigIntField(null=True)
    missing_n = fields.BigIntField()
    missing_fen = fields.BigIntField()
    late = fields.BigIntField()
    early = fields.BigIntField()
    sales_rank = fields.BigIntField()
    sales_before = fields.BigIntField()
    level_sales = fields.BigIntField()
    profit_rank = fields.BigIntField()
    profit_before = fields.BigIntField()
    level_profit = fields.BigIntField(null=True)
    level_customers = fields.BigIntField()

    class Meta:
        table = "customer_value"
        indexes = (("ranking_id", "level", "sales_rank"),)


class ReportAnswer(Model):
    """A report's default answer, computed after the daily value-refresh and churn-scan
    (`club.reports.answers`): the reports API serves it for exactly those parameters."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=16)
    params = fields.CharField(max_length=128)
    """The parameters it answers: the default period's days and the programme's fingerprint."""
    as_of = fields.DateField()
    computed_at = fields.DatetimeField()
    body = fields.TextField()
    """The answer as JSON, its rows the first `STORED_ROWS` of a paged report."""

    class Meta:
        table = "report_answer"
        unique_together = (("name", "params"),)
