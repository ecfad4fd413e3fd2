"""Request and response bodies of the staff API.

Money is integer fen and points are integers: `StrictInt` refuses 12.5, "12" and 12.0 alike, so a
float never slips into a sum. Unknown fields are refused (`extra="forbid"`): a typo in a field
name is an error, not a silently ignored value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

MAX_FEN = 10**11
"""One billion yuan: far above any real order, low enough that sums never overflow BIGINT."""
MAX_POINTS = 10**9

Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN, description="Integer fen (1 yuan = 100 fen)")]
PositiveFen = Annotated[
    StrictInt, Field(gt=0, le=MAX_FEN, description="Integer fen (1 yuan = 100 fen), above zero")
]
Ref = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/#-]+$"),
]
OpenId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MemberId = Annotated[StrictInt, Field(ge=1, le=2**62)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Purchases and returns ---------------------------------------------------------------------


class PurchaseItem(In):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    qty: Annotated[StrictInt, Field(ge=1, le=100_000)]
    amount_fen: Fen
    cost_fen: Fen | None = Field(default=None, description="Our cost of the line, for margins")


class PurchaseIn(In):
    openid: OpenId | None = None
    member_id: MemberId | None = None
    order_id: Ref = Field(description="The till's order id; a repeat returns the first answer")
    amount_fen: PositiveFen
    store: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    items: Annotated[list[PurchaseItem], Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _one_member_key(self) -> PurchaseIn:
        if (self.openid is None) == (self.member_id is None):
            raise ValueError("give exactly one of openid or member_id")
        return self


class PurchaseOut(Out):
    member_id: int
    points_earned: int
    balance: int
    tier: str


class ReturnIn(In):
    order_id: Ref
    amount_fen: PositiveFen


class ReturnOut(Out):
    member_id: int
    order_id: str
    points_reversed: int
    balance: int
    debt: int
    tier: str


# Members and the ledger --------------------------------------------------------------------


class MemberQuery(In):
    openid: OpenId


class LunarBirthday(Out):
    month: int
    day: int
    leap: bool


class MemberOut(Out):
    id: int
    openid: str
    status: str
    name: str | None
    phone: str | None = Field(description="Whole for the admin role, masked (138****5678) else")
    phone_masked: bool
    birthday: date | None
    birthday_lunar: LunarBirthday | None
    joined_at: datetime | None
    source: str | None = Field(description="The QR scene that brought the member, if any")
    tier: str
    tier_name: str
    tier_floor: str | None
    balance: int
    debt: int
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
    before_id: int | None = Field(default=None, ge=1, description="Page: entries older than this")


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
        description="Points to add (positive) or take away (negative); never zero"
    )
    reason: Annotated[str, Field(min_length=2, max_length=200)]
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
