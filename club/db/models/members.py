"""Members and their follow history.

A member row exists from the first contact (follow or message) so that the 48-hour window, the
QR scene that brought them and their exits are known — `joined_at` is set when they enrol in the
club (with consent). Unfollow and re-follow keep the same row.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MemberStatus(StrEnum):
    ACTIVE = "active"
    UNFOLLOWED = "unfollowed"
    BLOCKED = "blocked"
    DELETED = "deleted"


class Member(Model):
    id = fields.BigIntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    status = fields.CharEnumField(MemberStatus, max_length=16, default=MemberStatus.ACTIVE)

    # Personal data: kept only with consent (consent_at), erased on request.
    name = fields.CharField(max_length=64, null=True)
    phone = fields.CharField(max_length=16, null=True)
    birthday_solar = fields.DateField(null=True)
    birthday_mmdd = fields.SmallIntField(null=True)
    """Solar month*100 + day, indexed: today's birthdays are an index lookup, not a scan."""
    birthday_lunar_month = fields.SmallIntField(null=True)
    birthday_lunar_day = fields.SmallIntField(null=True)
    birthday_lunar_leap = fields.BooleanField(default=False)
    consent_at = fields.DatetimeField(null=True)
    consent_version = fields.CharField(max_length=16, null=True)
    erased_at = fields.DatetimeField(null=True)
    """When the member had their personal data erased (consent fields stay as the record)."""
    language = fields.CharField(max_length=8, default="zh")
    """The language the member is answered and written to in: `zh` or `en`."""
    language_set_at = fields.DatetimeField(null=True)
    """When `language` was set: by the member's first message that showed a language, or when
    they sent `English` / `中文`. NULL: not yet (each message is answered in its own language,
    Chinese when it shows none), and the next message that shows one sets it."""

    # Where they came from: a parametric QR scene `store_<id>` or `staff_<id>`.
    source_kind = fields.CharField(max_length=16, null=True)
    source_ref = fields.CharField(max_length=64, null=True)
    source_at = fields.DatetimeField(null=True)
    """When that code brought them (their first follow): the channel report counts by it."""

    # Club standing. Balance and debt change only by conditional updates with a ledger row.
    joined_at = fields.DatetimeField(null=True)
    tier = fields.CharField(max_length=32, null=True)
    tier_floor = fields.CharField(max_length=32, null=True)
    tier_since = fields.DatetimeField(null=True)
    points_balance = fields.BigIntField(default=0)
    points_debt = fields.BigIntField(default=0)
    flagged_for_review = fields.BooleanField(default=False)
    flag_reason = fields.CharField(max_length=128, null=True)
    flagged_at = fields.DatetimeField(null=True)
    """When the member was last flagged (the review list's order)."""
    blocked_at = fields.DatetimeField(null=True)
    """When the club blocked the member (status `blocked`); NULL once unblocked."""

    # Interaction, for the customer-service window and churn analysis.
    followed_at = fields.DatetimeField(null=True)
    unfollowed_at = fields.DatetimeField(null=True)
    last_message_at = fields.DatetimeField(null=True)
    """Last time the member sent us a message (opens the customer-service window)."""
    last_interaction_at = fields.DatetimeField(null=True)
    """Last message, click or scan of any kind."""
    open_ticket_id = fields.BigIntField(null=True)
    """The member's open service ticket: their messages go to it until it is closed."""
    unreachable_at = fields.DatetimeField(null=True)
    unreachable_reason = fields.CharField(max_length=64, null=True)

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "member"
        # The console's dashboard counts new members a day, and following members a tier, from
        # these indexes alone (index-only scans). The phone index serves the counter's look-up of
        # a member by phone number.
        indexes = (
            ("birthday_lunar_month", "birthday_lunar_day"),
            ("birthday_mmdd",),
            ("joined_at",),
            ("status", "tier", "joined_at"),
            ("phone",),
        )

    def __str__(self) -> str:
        return f"member {self.id}"


class FollowKind(StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


class FollowEvent(Model):
    """Every follow and unfollow with its time: exit analysis reads these."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="follow_events", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(FollowKind, max_length=16)
    at = fields.DatetimeField()
    scene = fields.CharField(max_length=64, null=True)
    tier = fields.CharField(max_length=32, null=True)
    """The tier at the time, so the exit report can say which segment leaks."""
    # WeChat's own event time: a retried event must not be recorded twice.
    wechat_create_time = fields.BigIntField()

    class Meta:
        table = "follow_event"
        indexes = (("kind", "at"),)  # unfollows a day (the console's dashboard)
        unique_together = (("member", "kind", "wechat_create_time"),)
