"""Request and response bodies of the staff API.

Money is integer fen and points are integers: `StrictInt` refuses 12.5, "12" and 12.0 alike, so a
float never slips into a sum (JSON Schema counts 12.0 as an integer; we do not, on purpose).
Unknown fields are refused (`extra="forbid"`): a typo in a field name is an error, not a silently
ignored value. Datetimes are strict too: an ISO 8601 string with an offset, never a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from club.dates import CALENDAR, Moment

MAX_FEN = 10**11
"""One billion yuan: far above any real order, low enough that sums never overflow BIGINT."""
MAX_POINTS = 10**9

Fen = Annotated[
    StrictInt,
    Field(ge=0, le=MAX_FEN, description="Integer fen (1 yuan = 100 fen), without a decimal point"),
]
PositiveFen = Annotated[
    StrictInt,
    Field(gt=0, le=MAX_FEN, description="Integer fen (1 yuan = 100 fen) above zero, no decimals"),
]
Ref = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/#-]+$"),
]
OpenId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@dataclass(frozen=True)
class NoControlCharacters:
    """Free text refuses control characters: a tab or line break in a reward name, sku, store or
    reason breaks the member's message, the till's receipt and the audit log, and NUL (U+0000)
    fits in no PostgreSQL text or JSON column (it failed there as a 500). Refused as invalid input
    (422) with a message naming the character, and documented as `pattern` in the OpenAPI schema
    (a test checks the pattern against what is refused, character by character).

    Checked after the whitespace at both ends has been trimmed.
    """

    refused: str
    """The refused characters, as the inside of a regular expression's character class."""
    rule: str
    """What the message says about the field."""

    @property
    def pattern(self) -> str:
        """What the OpenAPI document shows: ECMA 262 (JSON Schema) and Python `re` alike."""
        return f"^[^{self.refused}]*$"

    def check(self, text: str) -> str:
        found = re.search(f"[{self.refused}]", text)
        if found is None:
            return text
        raise PydanticCustomError(
            "control_character",
            "{rule}: found U+{code} at character {position}",
            {"rule": self.rule, "code": f"{ord(found.group()):04X}", "position": found.start() + 1},
        )

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


ONE_LINE = NoControlCharacters(
    refused=r"\x00-\x1f\x7f-\x9f\u2028\u2029",
    rule="must be one line without control characters (no tab, no line break, "
    "nothing in U+0000-U+001F or U+007F-U+009F, no U+2028 or U+2029)",
)
"""Names, sku, store, reasons."""
MULTI_LINE = NoControlCharacters(
    refused=r"\x00-\x08\x0b-\x1f\x7f-\x9f",
    rule="may hold newlines (U+000A) and tabs (U+0009) but no other control character "
    "(U+0000-U+001F, U+007F-U+009F)",
)
"""A description: lines and tabs, nothing else below the space."""
MAX_ID = 2**62
MemberId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
StrictAware = Annotated[
    Moment,
    Strict(),
    Field(
        description=f"ISO 8601 with a UTC offset, e.g. 2026-11-01T00:00:00+08:00, {CALENDAR} (UTC)"
    ),
]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Purchases and returns ---------------------------------------------------------------------


class PurchaseItem(In):
    sku: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    qty: Annotated[StrictInt, Field(ge=1, le=100_000)]
    amount_fen: Fen
    cost_fen: Fen | None = Field(default=None, description="Our cost of the line, for margins")


class PurchaseIn(In):
    openid: OpenId | None = None
    member_id: MemberId | None = None
    order_id: Ref = Field(description="The till's order id; a repeat returns the first answer")
    amount_fen: PositiveFen
    store: Annotated[str, Field(min_length=1, max_length=32), ONE_LINE] | None = Field(
        default=None, description="A known store id (unknown ones are refused)"
    )
    items: Annotated[list[PurchaseItem], Field(max_length=500)] | None = Field(
        default=None, description="Order lines; their amount_fen must add up to the order's"
    )
    account_id: MemberId | None = Field(
        default=None,
        description="Book the order to this group-purchase account (the member must be one of "
        "its contacts): it counts for the organisation, not the member",
    )

    @field_validator("items")
    @classmethod
    def _items_add_up(
        cls, items: list[PurchaseItem] | None, info: ValidationInfo
    ) -> list[PurchaseItem] | None:
        amount = info.data.get("amount_fen")
        if items and amount is not None and sum(i.amount_fen for i in items) != amount:
            raise ValueError("the items' amount_fen must add up to the order's amount_fen")
        return items

    @model_validator(mode="after")
    def _one_member_key(self) -> PurchaseIn:
        if (self.openid is None) == (self.member_id is None):
            raise ValueError("give exactly one of openid or member_id")
        return self


class PurchaseOut(Out):
    member_id: int
    order_id: str
    points_earned: int
    balance: int = Field(description="The balance right after this purchase was recorded")
    tier: str
    upgraded_from: str | None = Field(description="The tier before, when this purchase lifted it")


class ReturnIn(In):
    order_id: Ref
    amount_fen: PositiveFen = Field(description="The refunded amount, integer fen")
    ref: Ref | None = Field(
        default=None,
        description=(
            "The till's return id. Without one, the same order and amount again is taken as a "
            "retry of the same return, never as a second return."
        ),
    )


class ReturnOut(Out):
    member_id: int
    order_id: str
    ref: str
    amount_fen: int
    returned_fen_total: int
    points_reversed: int
    balance: int
    debt: int = Field(description="Points still owed when the balance could not cover the reversal")


# Members and the ledger --------------------------------------------------------------------


class MemberQuery(In):
    openid: OpenId | None = None
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        default=None,
        description="The whole mobile number (spaces, dashes and +86 are fine); the answer "
        "shows it masked to roles that may not see it whole",
    )
    number: Annotated[str, Field(pattern=r"^[0-9]{1,18}$")] | None = Field(
        default=None, description="The member number on the card, e.g. 00000012"
    )

    @model_validator(mode="after")
    def _one_key(self) -> MemberQuery:
        given = [k for k in ("openid", "phone", "number") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of openid, phone or number")
        return self


class LunarBirthday(Out):
    month: int
    day: int
    leap: bool


class MemberOut(Out):
    id: int
    number: str = Field(description="The member number on the card (the id, 8 digits)")
    openid: str
    status: str
    name: str | None
    phone: str | None = Field(description="Whole for the admin role, masked (138****5678) else")
    phone_masked: bool
    birthday: date | None
    birthday_lunar: LunarBirthday | None
    joined_at: datetime | None
    source: str | None = Field(description="The QR scene that brought the member, if any")
    source_name: str | None = Field(
        description="The name of the store or staff member behind `source`, when known"
    )
    tier: str
    tier_name: str
    tier_floor: str | None
    balance: int
    debt: int
    qualifying_spend_fen: int = Field(description="Spend net of returns over the review period")
    next_tier: str | None
    spend_to_next_tier_fen: int | None
    points_to_next_tier: int | None = Field(
        description="Points the remaining spend would earn at the member's current rate"
    )
    expiring_points: int
    expiring_on: date | None
    flagged_for_review: bool


class LedgerQuery(In):
    limit: int = Field(default=100, ge=1, le=500)
    before_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Page: entries older than this"
    )


class LedgerEntryOut(Out):
    id: int
    kind: str
    points: int = Field(description="Positive for credits, negative for debits")
    reason: str
    ref: str
    at: datetime
    expires_at: datetime | None


class LedgerOut(Out):
    member_id: int
    balance: int
    debt: int
    entries: list[LedgerEntryOut]


class AdjustmentIn(In):
    points: Annotated[StrictInt, Field(ge=-MAX_POINTS, le=MAX_POINTS)] = Field(
        description="Points to add (positive) or take away (negative); never zero",
        json_schema_extra={"not": {"const": 0}},
    )
    reason: Annotated[str, Field(min_length=2, max_length=200), ONE_LINE]
    ref: Ref | None = Field(
        default=None,
        description="Your idempotency key: the same ref again returns the first adjustment",
    )

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.points == 0:
            raise ValueError("points must not be zero")
        return self


class AdjustmentOut(Out):
    member_id: int
    points: int
    ref: str
    balance: int
    debt: int


# Bottle codes and rewards ------------------------------------------------------------------


class BottleCodesIn(In):
    count: Annotated[StrictInt, Field(ge=1, le=10_000)]
    points: Annotated[StrictInt, Field(ge=1, le=100_000)]
    batch: Ref


class BottleCodesOut(Out):
    batch: str
    points: int
    count: int
    codes: list[str]


class RewardIn(In):
    name: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    description: Annotated[str, Field(max_length=255), MULTI_LINE] = ""
    points_cost: Annotated[StrictInt, Field(ge=1, le=MAX_POINTS)]
    stock: Annotated[StrictInt, Field(ge=0, le=10**9)] | None = Field(
        default=None, description="Items available; omit or null for no limit"
    )
    min_tier: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        default=None, description="Lowest tier code that may redeem; null for every member"
    )
    per_member_limit: Annotated[StrictInt, Field(ge=1, le=10**6)] | None = None
    active_from: StrictAware | None = None
    active_until: StrictAware | None = None
    cancel_window_hours: Annotated[StrictInt, Field(ge=0, le=24 * 90)] = 24
    ref: Ref | None = Field(
        default=None,
        description="Your idempotency key: the same ref with the same reward again returns the "
        "first reward; with other values it is refused (409)",
    )

    @model_validator(mode="after")
    def _window_in_order(self) -> RewardIn:
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            raise ValueError("active_until must be after active_from")
        return self


class RewardOut(Out):
    id: int
    name: str
    description: str
    points_cost: int
    stock: int | None
    min_tier: str | None
    per_member_limit: int | None
    active_from: datetime | None
    active_until: datetime | None
    cancel_window_hours: int
    enabled: bool
    ref: str | None = Field(description="The idempotency key it was created with, if any")


class RewardList(Out):
    rewards: list[RewardOut]
