"""A segment's rule document: what staff write, validated here, described in the OpenAPI document.

Every rule is a JSON object whose `rule` names it; `and`, `or` and `not` nest the others:

    {"rule": "and", "rules": [
        {"rule": "tier", "tiers": ["gold", "platinum"]},
        {"rule": "not", "of": {"rule": "last_purchase", "within_days": 90}},
        {"rule": "tags", "tags": ["banquet"], "match": "any"}]}

Times are relative to the moment the segment is used (`within_days`, `more_than_days`) or
absolute (`after`, `before`, ISO 8601 with an offset). `value_class` and `churn_risk` read
the daily value-refresh and churn-scan (`member_value`, `member_churn`). The SQL each rule
becomes is in `club.segments.sql`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from club.dates import AnyZoneMoment

MAX_DEPTH = 8
MAX_LEAVES = 100
MAX_GROUP_RULES = 50
MAX_DAYS = 36_500
MAX_FEN = 10**11

Days = Annotated[StrictInt, Field(ge=0, le=MAX_DAYS)]
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN, description="Integer fen")]
Count = Annotated[StrictInt, Field(ge=0, le=10**9)]
TagName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[\w.:-]+$",
        description="Letters (any script), digits and . : _ -",
    ),
]
StoreId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")]
TierCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")]
Level = Literal["dealer", "wholesaler", "key_account", "small_shop", "online", "consumer"]
Via = Literal["origin", "purchase"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _When(_Rule):
    """A time column's bounds; none given: the time is set at all."""

    # Not `Moment`: a stored rule is read again with this model, and one taken before must stay
    # readable; only a time that cannot be moved to another zone (year 1, year 9999) is refused.
    after: AnyZoneMoment | None = Field(default=None, description="At or after this time")
    before: AnyZoneMoment | None = Field(default=None, description="Before this time")
    within_days: Days | None = Field(default=None, description="In the last N days")
    more_than_days: Days | None = Field(default=None, description="More than N days ago")

    @model_validator(mode="after")
    def _in_order(self) -> _When:
        if self.after and self.before and self.before <= self.after:
            raise ValueError("before must be later than after")
        return self


class Joined(_When):
    """Joined the club (gave consent), optionally within bounds."""

    rule: Literal["joined"]


class Followed(_When):
    """Followed the Official Account (the latest follow), optionally within bounds."""

    rule: Literal["followed"]


class Unfollowed(_When):
    """Unfollowed at some time (the latest unfollow), optionally within bounds."""

    rule: Literal["unfollowed"]


class TierIs(_Rule):
    rule: Literal["tier"]
    tiers: list[TierCode] = Field(min_length=1, max_length=20, description="Tier codes")


class StatusIs(_Rule):
    rule: Literal["status"]
    statuses: list[Literal["active", "unfollowed", "blocked", "deleted"]] = Field(
        min_length=1, max_length=4
    )


class LastPurchase(_Rule):
    """The latest purchase was within N days, or longer ago than N days (never: no match)."""

    rule: Literal["last_purchase"]
    within_days: Days | None = None
    more_than_days: Days | None = None

    @model_validator(mode="after")
    def _one(self) -> LastPurchase:
        if (self.within_days is None) == (self.more_than_days is None):
            raise ValueError("give exactly one of within_days or more_than_days")
        return self


class _Range(_Rule):
    @model_validator(mode="after")
    def _bounded(self) -> _Range:
        low, high = self.bounds()
        if low is None and high is None:
            raise ValueError("give min, max or both")
        if low is not None and high is not None and high < low:
            raise ValueError("max must not be below min")
        return self

    bound_fields: ClassVar[tuple[str, str]] = ("min", "max")
    """The rule's lower and upper bound fields."""

    def bounds(self) -> tuple[int | None, int | None]:
        low, high = self.bound_fields
        return getattr(self, low), getattr(self, high)


class Spend(_Range):
    """Spend net of returns, over the last 12 months or the member's whole history."""

    rule: Literal["spend"]
    period: Literal["12_months", "lifetime"] = "12_months"
    min_fen: Fen | None = None
    max_fen: Fen | None = None

    bound_fields: ClassVar[tuple[str, str]] = ("min_fen", "max_fen")


class PurchaseCount(_Range):
    """Purchases (not wholly returned), over the last N days or ever."""

    rule: Literal["purchase_count"]
    min: Count | None = None
    max: Count | None = None
    within_days: Days | None = None


class PointsBalance(_Range):
    rule: Literal["points_balance"]
    min: Count | None = None
    max: Count | None = None


class PointsExpiring(_Rule):
    """At least `min_points` points expire within the next N days."""

    rule: Literal["points_expiring"]
    within_days: Annotated[StrictInt, Field(ge=1, le=3650)]
    min_points: Annotated[StrictInt, Field(ge=1, le=10**9)] = 1


class StoreIs(_Rule):
    """Came from one of these stores (their QR code), or bought at one of them."""

    rule: Literal["store"]
    stores: list[StoreId] = Field(min_length=1, max_length=500)
    via: Via = "purchase"


class ChannelLevelIs(_Rule):
    """Came from, or bought at, a store of one of these channel levels (the store's level now)."""

    rule: Literal["channel_level"]
    levels: list[Level] = Field(min_length=1, max_length=6)
    via: Via = "purchase"


class BirthdayMonth(_Rule):
    rule: Literal["birthday_month"]
    months: list[Annotated[StrictInt, Field(ge=1, le=12)]] = Field(min_length=1, max_length=12)
    calendar: Literal["solar", "lunar"] = "solar"


class LanguageIs(_Rule):
    rule: Literal["language"]
    languages: list[Literal["zh", "en"]] = Field(min_length=1, max_length=2)


class Tags(_Rule):
    rule: Literal["tags"]
    tags: list[TagName] = Field(min_length=1, max_length=50)
    match: Literal["any", "all"] = "any"


class InList(_Rule):
    """On a fixed list uploaded by staff (a segment of kind `list`)."""

    rule: Literal["in_list"]
    segment_id: Annotated[StrictInt, Field(ge=1, le=2**62)]


class ValueClass(_Rule):
    """Customer value class (A/B/C) of the last value-refresh; members who never bought have
    none."""

    rule: Literal["value_class"]
    classes: list[Literal["A", "B", "C"]] = Field(min_length=1, max_length=3)


class ChurnRisk(_Rule):
    """Churn warning of today's churn-scan: `high` silent beyond their rhythm and spending less,
    `medium` one of the two, `low` not flagged."""

    rule: Literal["churn_risk"]
    levels: list[Literal["low", "medium", "high"]] = Field(min_length=1, max_length=3)


class And(_Rule):
    rule: Literal["and"]
    rules: list[Rule] = Field(min_length=1, max_length=MAX_GROUP_RULES)


class Or(_Rule):
    rule: Literal["or"]
    rules: list[Rule] = Field(min_length=1, max_length=MAX_GROUP_RULES)


class Not(_Rule):
    rule: Literal["not"]
    of: Rule


Leaf = (
    Joined
    | Followed
    | Unfollowed
    | TierIs
    | StatusIs
    | LastPurchase
    | Spend
    | PurchaseCount
    | PointsBalance
    | PointsExpiring
    | StoreIs
    | ChannelLevelIs
    | BirthdayMonth
    | LanguageIs
    | Tags
    | InList
    | ValueClass
    | ChurnRisk
)
Rule = Annotated[Leaf | And | Or | Not, Field(discriminator="rule")]

for _model in (And, Or, Not):
    _model.model_rebuild()


class RuleDocument(BaseModel):
    """A rule at the top of a document (what the API's `rule` fields hold)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: Rule


def children(rule: Rule) -> list[Rule]:
    if isinstance(rule, And | Or):
        return list(rule.rules)
    if isinstance(rule, Not):
        return [rule.of]
    return []


def shape(rule: Rule) -> tuple[int, int]:
    """(depth, leaves) of a rule tree."""
    kids = children(rule)
    if not kids:
        return 1, 1
    sizes = [shape(kid) for kid in kids]
    return 1 + max(d for d, _ in sizes), sum(n for _, n in sizes)


def check_shape(rule: Rule) -> None:
    """Refuse a document too deep or too large to be a sensible segment."""
    depth, leaves = shape(rule)
    if depth > MAX_DEPTH:
        raise ValueError(f"rules nest at most {MAX_DEPTH} deep (this one: {depth})")
    if leaves > MAX_LEAVES:
        raise ValueError(f"a document has at most {MAX_LEAVES} rules (this one: {leaves})")


def parse(document: object) -> Rule:
    """A stored document (JSON-decoded) as a rule; pydantic's ValidationError if it is not."""
    return RuleDocument.model_validate({"rule": document}).rule


def dump(rule: Rule) -> dict[str, object]:
    """The document to store (JSON-ready)."""
    dumped: dict[str, object] = RuleDocument(rule=rule).model_dump(mode="json", exclude_none=True)[
        "rule"
    ]
    return dumped
