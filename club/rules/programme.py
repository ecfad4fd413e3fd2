"""The club programme: tiers, earning, expiry, limits, greetings and delivery settings.

Frozen dataclasses, standard library only, so pure rules and every layer can read them. Money is
integer fen; multipliers are Decimals so that points come out exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from enum import StrEnum

from club.rules.menu import Menu
from club.rules.value import BASIS_POINTS as BASIS_POINTS
from club.rules.value import ChurnRules as ChurnRules
from club.rules.value import ValueRules as ValueRules
from club.rules.wording import fill


class ProgrammeError(ValueError):
    """The programme configuration is unusable; the message names the bad key."""


@dataclass(frozen=True)
class Tier:
    code: str
    """Stable identifier stored on the member (`taste`, `silver`, ...)."""
    name_zh: str
    name_en: str
    threshold_fen: int
    """Qualifying spend over the review period that reaches this tier."""
    earn_multiplier: Decimal
    birthday_gift_points: int = 0


@dataclass(frozen=True)
class TierLadder:
    """Tiers from the lowest (threshold 0) upwards, thresholds strictly rising."""

    tiers: tuple[Tier, ...]

    @property
    def lowest(self) -> Tier:
        return self.tiers[0]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.tiers)

    def get(self, code: str | None) -> Tier:
        """The tier with this code; an unset tier is the lowest."""
        if code is None:
            return self.lowest
        for tier in self.tiers:
            if tier.code == code:
                return tier
        raise ProgrammeError(f"unknown tier code {code!r} (known: {', '.join(self.codes)})")

    def rank(self, code: str | None) -> int:
        return self.tiers.index(self.get(code))

    def for_spend(self, spend_fen: int) -> Tier:
        """The highest tier whose threshold the spend reaches."""
        reached = self.lowest
        for tier in self.tiers:
            if spend_fen >= tier.threshold_fen:
                reached = tier
        return reached

    def above(self, code: str | None) -> Tier | None:
        rank = self.rank(code)
        return self.tiers[rank + 1] if rank + 1 < len(self.tiers) else None

    def below(self, code: str | None) -> Tier | None:
        rank = self.rank(code)
        return self.tiers[rank - 1] if rank > 0 else None


@dataclass(frozen=True)
class Earning:
    points_per_yuan: int
    """Base points per whole yuan spent, before the tier multiplier."""
    welcome_bonus: int
    checkin_points: int
    checkin_streak_days: int
    """Every N-th consecutive day of check-in earns the streak bonus on top."""
    checkin_streak_bonus: int


class ExpiryKind(StrEnum):
    END_OF_NEXT_YEAR = "end_of_next_year"
    ROLLING_DAYS = "rolling_days"


@dataclass(frozen=True)
class ExpiryRule:
    kind: ExpiryKind
    days: int | None = None
    """Only for `rolling_days`: points stay valid to the end of the N-th day after earning."""
    reminder_days: int = 30


@dataclass(frozen=True)
class BottleCodeLimits:
    per_hour: int
    per_day: int
    failed_per_hour: int = 5
    """Failed attempts (unknown, mistyped, or someone else's code) allowed in the last hour."""
    failed_per_day: int = 10
    """Failed attempts allowed in the club's calendar day: past either, codes wait."""


class Calendar(StrEnum):
    SOLAR = "solar"
    LUNAR = "lunar"


@dataclass(frozen=True)
class Festival:
    key: str
    name_zh: str
    name_en: str
    calendar: Calendar
    month: int
    day: int
    text_zh: str
    text_en: str
    gift_points: tuple[tuple[str, int], ...] = ()
    """(tier code, points) pairs; tiers not listed get no gift."""

    def gift_for(self, tier_code: str) -> int:
        return dict(self.gift_points).get(tier_code, 0)


@dataclass(frozen=True)
class Birthday:
    send_time: time
    texts_zh: tuple[tuple[str, str], ...]
    """(tier code, text) for every tier; `{name}` is replaced by how the member is addressed,
    `{gift}` by the tier's birthday gift points."""
    texts_en: tuple[tuple[str, str], ...]

    def text_for(self, tier_code: str, lang: str = "zh") -> str:
        return dict(self.texts_en if lang == "en" else self.texts_zh)[tier_code]


@dataclass(frozen=True)
class Delivery:
    quiet_start: time
    quiet_end: time
    window_hours: int
    window_messages_after_message: int = 5
    """Customer-service messages a member's own message allows within `window_hours`."""
    window_messages_after_event: int = 3
    """Customer-service messages a menu click, QR scan or follow allows."""
    window_minutes_after_event: int = 1
    """How long a click, scan or follow keeps the window open (WeChat: one minute)."""
    marketing_per_week: int = 3
    """Marketing messages (greetings, reminders, campaigns) a member may get in any 7 days;
    0: none. Service messages (replies, notices) are never capped."""

    def is_quiet(self, at: time) -> bool:
        """Inside quiet hours; the span may wrap past midnight (21:00-09:00)."""
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= at < self.quiet_end
        return at >= self.quiet_start or at < self.quiet_end


@dataclass(frozen=True)
class TierReview:
    day_of_month: int
    months: int = 12
    """Qualifying spend is counted over this many months back."""


@dataclass(frozen=True)
class Consent:
    version: str
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class Text:
    """One message in both languages; its placeholders are checked when the programme loads."""

    zh: str
    en: str

    def render(self, lang: str, **values: object) -> str:
        """The text in the member's language ("en", else Chinese) with its placeholders filled."""
        return fill(self.en if lang == "en" else self.zh, values)


@dataclass(frozen=True)
class Messages:
    """What the club sends on its own; the placeholders each allows are in `messages.py`."""

    points_expiry: Text
    """Points expire soon: {points}, {date} (ISO), {year}, {month}, {day} (the last valid day)."""
    tier_upgrade: Text
    """The monthly review lifted the tier: {tier}."""
    tier_downgrade: Text
    """The monthly review lowered the tier: {tier}."""
    tier_regain: Text
    """Added after a downgrade: spend {amount} yuan in {months} months to regain {tier}."""
    purchase_upgrade: Text
    """A purchase recorded by staff lifted the tier: {tier}."""
    points_earned: Text
    """A purchase earned points: {points}, {balance}, {amount} (yuan), {order}."""
    points_reversed: Text
    """A return took points back: {points}, {balance}, {amount} (yuan), {order}."""
    points_adjusted: Text
    """Staff adjusted the points: {change} (signed), {points}, {balance}, {reason}."""
    ticket_answer: Text
    """A staff member's answer to the member's request for a person: {text}."""
    ticket_closed: Text
    """Staff closed the member's request (no placeholders)."""
    voucher_expired: Text
    """A voucher expired unused: {reward}, {code}."""
    voucher_expired_refunded: Text
    """A voucher expired and its points went back: {reward}, {code}, {points}."""


class AboveLimit(ValueError):
    """An amount staff asked for is above the programme's limit; the message names the limit."""

    def __init__(self, field: str, value: int, limit_key: str, limit: int, unit: str) -> None:
        super().__init__(
            f"{field}: {value:,} is above the largest the programme allows in one go "
            f"(limits.{limit_key} = {limit:,} {unit})"
        )
        self.field = field
        self.limit_key = limit_key


@dataclass(frozen=True)
class AmountLimits:
    """The largest amounts staff may record in one request. They stop a slip of the finger
    (10^11 fen typed for 10^3), a runaway script or a stolen clerk token from writing a fortune
    in one call; they are sanity limits, not budgets."""

    max_purchase_fen: int = 100_000_000
    """One purchase (1,000,000 yuan): above the largest banquet or company order a liquor
    brand's store records (some 300 bottles of top baijiu at about 3,000 yuan)."""
    max_credit_points: int = 100_000
    """One credit given by hand: an adjustment, or the points of one bottle code. What a
    100,000-yuan purchase earns at the base rate; a larger correction is the purchase it stands
    for, recorded with its order id."""

    def check_purchase(self, amount_fen: int, field: str = "amount_fen") -> None:
        if amount_fen > self.max_purchase_fen:
            raise AboveLimit(field, amount_fen, "max_purchase_fen", self.max_purchase_fen, "fen")

    def check_credit(self, points: int, field: str = "points") -> None:
        if points > self.max_credit_points:
            raise AboveLimit(field, points, "max_credit_points", self.max_credit_points, "points")


@dataclass(frozen=True)
class TemplateMapping:
    """How one announcement fills one template of the Official Account.

    `fields` are the template's field names (as the Official Account's admin console shows them:
    `thing2`, `time3`, `keyword1`...) with the text each gets, where `{placeholders}` stand for
    the announcement's values (checked at load, `club.programme.templates`).
    """

    announcement: str
    template_id: str
    fields: tuple[tuple[str, str], ...]
    url: str | None = None

    def render(self, values: Mapping[str, object]) -> dict[str, str]:
        return {name: fill(text, values) for name, text in self.fields}


@dataclass(frozen=True)
class Counter:
    """Purchases recorded at a store's counter for consumers who have not joined yet."""

    pending_days: int = 30
    """How long such a purchase waits for its phone number to join the club (then it lapses)."""


@dataclass(frozen=True)
class Vouchers:
    """How long a reward's voucher may be used, and what happens to one that is not."""

    valid_days: int = 30
    """Days after redemption a voucher can be used at a store; 0: it never expires."""
    refund_on_expiry: bool = True
    """An expired voucher's points go back to the member (to the lots they came from)."""


@dataclass(frozen=True)
class RewardSeed:
    """A reward the programme ships (`[[rewards]]`): created once, then the database's.

    Seeding never updates an existing reward: stock, price and availability are changed by
    staff through the API, and the database stays the one truth for them.
    """

    key: str
    """Stable: the reward is found again by it (its creation ref is `programme:<key>`)."""
    name: str
    points_cost: int
    description: str = ""
    stock: int | None = None
    min_tier: str | None = None
    per_member_limit: int | None = None


@dataclass(frozen=True)
class EarningCaps:
    """Most points earned from purchases, codes and check-ins (`club.rules.caps`); 0: no cap."""

    per_order: int = 0
    per_day: int = 0
    per_month: int = 0

    @property
    def any(self) -> bool:
        return bool(self.per_order or self.per_day or self.per_month)


@dataclass(frozen=True)
class StaffPolicy:
    token_days: int = 90
    """A staff API token stops working this many days after it was made (rotate it then)."""


@dataclass(frozen=True)
class Campaigns:
    """How staff campaigns may go out (`[campaigns]`; every key has a default)."""

    template_daily_quota: int = 100_000
    """Template messages WeChat allows the account a day (all kinds together); campaigns use
    what is left, and WeChat's 45009 says it is spent whatever the count."""
    approval_threshold: int = 10_000
    """A campaign to more members than this needs an admin's approval before it sends."""
    max_per_second: int = 500
    """The fastest any campaign may send (its pace is capped here)."""
    mass_per_month: int = 4
    """Mass messages WeChat lets a service account send each member a month."""
    tag_calls_per_second: int = 50
    """Tagging calls (50 members each) a mass send makes a second, and as many to untag."""
    effect_days: int = 30
    """The default window after sending in which a campaign's effect is measured."""
    message_cost_fen: int = 0
    """What one message costs, in fen (WeChat charges nothing; an agency might)."""


@dataclass(frozen=True)
class Programme:
    name_zh: str
    name_en: str
    tiers: TierLadder
    earning: Earning
    expiry: ExpiryRule
    bottle_codes: BottleCodeLimits
    festivals: tuple[Festival, ...]
    birthday: Birthday
    delivery: Delivery
    tier_review: TierReview
    consent: Consent
    messages: Messages
    limits: AmountLimits = AmountLimits()
    templates: tuple[TemplateMapping, ...] = ()
    """Template messages by announcement; an announcement without one goes by customer service
    only (and is skipped, with the reason, when the member's window is closed)."""
    campaigns: Campaigns = Campaigns()

    counter: Counter = Counter()
    vouchers: Vouchers = Vouchers()
    rewards: tuple[RewardSeed, ...] = ()
    staff: StaffPolicy = StaffPolicy()
    earning_caps: EarningCaps = EarningCaps()
    menu: Menu = field(default_factory=Menu)
    """The Official Account's menu (`python -m bot menu install` puts it there); empty: none."""
    value: ValueRules = field(default_factory=ValueRules.unpriced)
    """Customer value: profit, 80/20, classes. The loader requires `[value]` (profit must not be
    counted on made-up costs); this default is for programmes built in code."""
    churn: ChurnRules = field(default_factory=ChurnRules)

    def template_for(self, announcement: str) -> TemplateMapping | None:
        for mapping in self.templates:
            if mapping.announcement == announcement:
                return mapping
        return None
