"""Known-answer fixtures for customer value, worked out by hand in the comments.

The domain notes' example: ten key-account stores where A and B make 80% of the sales but, after
cost, points and the channel's service cost, A and C make 80% of the profit; and small shops,
easy to overlook, carrying half the sales and most of the profit.

Demo programme: 1 point per yuan at the lowest tier (every buyer here is a new member, so every
purchase earns exactly its yuan in points), a point costs 2 fen, service cost 15% of sales at
key-account stores and 6% at small shops. So the profit of a purchase is
  key account: 0.83 x sale - cost        small shop: 0.92 x sale - cost
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from itertools import count
from zoneinfo import ZoneInfo

from club.db.models.members import Member
from club.db.models.value import MemberValue
from club.programme import load_programme
from club.reports.filters import ReportFilter
from club.reports.rankings import Kept, ranking_for
from club.rules.channels import ChannelLevel
from club.rules.programme import ValueRules
from club.sales.purchases import PurchaseLine, record_purchase, upsert_store

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
EARLY = datetime(2026, 3, 1, 12, 0, tzinfo=TZ)
"""In the first half of the default period (the 12 months up to NOW)."""
LATE = datetime(2026, 10, 1, 12, 0, tzinfo=TZ)
"""In the second half."""
PROGRAMME = load_programme(None)
YUAN = 100

# Key-account stores: (store, [(when, sale yuan, cost yuan)]), profit in yuan worked out:
KEY_ACCOUNTS: list[tuple[str, list[tuple[datetime, int, int | None]]]] = [
    ("A", [(LATE, 50_000, 25_000)]),  # 41,500 - 25,000 = 16,500
    ("B", [(LATE, 30_000, 24_500)]),  # 24,900 - 24,500 = 400: big in sales, thin in profit
    ("C", [(LATE, 8_000, 1_000)]),  # 6,640 - 1,000 = 5,640: small in sales, rich in profit
    ("D", [(EARLY, 1_000, 800), (LATE, 2_000, 1_600)]),  # 30 + 60 = 90, sales doubled: rising
    ("E", [(LATE, 2_500, 2_000)]),  # 75
    ("F", [(LATE, 2_000, 1_600)]),  # 60
    ("G", [(LATE, 1_500, 1_200)]),  # 45
    ("H", [(LATE, 1_200, 960)]),  # 36
    ("I", [(LATE, 1_000, 800)]),  # 30
    ("J", [(LATE, 800, 640)]),  # 24
]
# Sales 100,000 yuan: A 50%, B 30% (before C: 80%, so the sales set is {A, B}).
# Profit 22,900 yuan, 80% = 18,320: A 16,500, then C (before it 16,500 < 18,320), then B
# (before it 22,140): the profit set is {A, C}. D: 88% of sales before it, within the 10% band
# after the cut, and its later half sold twice its earlier: a potential key customer.
KEY_ACCOUNT_SALES = 100_000 * YUAN
KEY_ACCOUNT_PROFIT = 22_900 * YUAN

SMALL_SHOPS: list[tuple[str, list[tuple[datetime, int, int | None]]]] = [
    ("S1", [(LATE, 60_000, 30_000)]),  # 55,200 - 30,000 = 25,200
    ("S2", [(LATE, 39_000, 19_500)]),  # 35,880 - 19,500 = 16,380
    ("S3", [(LATE, 1_000, None)]),  # no cost given: missing, not free
]
# Small shops: 100,000 yuan of sales (half of all store sales), 41,580 yuan of profit known
# (64.49% of the 64,480 made at stores), 1 purchase of 1,000 yuan without a cost.
SMALL_SHOP_SALES = 100_000 * YUAN
SMALL_SHOP_PROFIT = 41_580 * YUAN


async def build_domain_example() -> None:
    """Record the stores and purchases above, each purchase by a new member."""
    members = count(1)
    orders = count(1)
    for level, stores in (
        (ChannelLevel.KEY_ACCOUNT, KEY_ACCOUNTS),
        (ChannelLevel.SMALL_SHOP, SMALL_SHOPS),
    ):
        for store, sales in stores:
            await upsert_store(store, f"门店{store}", level)
            for when, sale, cost in sales:
                n = next(members)
                member = await Member.create(
                    openid=f"o-value-{n:04d}", tier="taste", joined_at=EARLY, consent_at=EARLY
                )
                await record_purchase(
                    member_id=member.id,
                    order_id=f"V{next(orders):04d}",
                    amount_fen=sale * YUAN,
                    store_id=store,
                    items=[
                        PurchaseLine(
                            "BAIJIU-500", 1, sale * YUAN, None if cost is None else cost * YUAN
                        )
                    ],
                    now=when,
                    programme=PROGRAMME,
                )


def at(day: str) -> datetime:
    """Noon of a club day, `YYYY-MM-DD`."""
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=TZ)


# Six consumers for RFM, classes and quadrants, as of NOW (value window: after 2025-11-23 10:00;
# trend: after 2026-05-23 10:00 against the six months before). Purchases without a store:
# 1 point a yuan at 2 fen and 2% service, so profit = 0.96 x sale - cost.
#   member: [(day, sale yuan, cost yuan)]                      window profit
CONSUMERS: dict[str, list[tuple[str, int, int | None]]] = {
    "M1": [("2025-12-20", 800, 300), ("2026-04-20", 800, 300), ("2026-08-20", 800, 300)],  # 1,404
    "M2": [("2026-10-01", 1_500, 940)],  # 500
    "M3": [("2026-02-01", 500, 380)],  # 100
    "M4": [("2026-01-01", 1_000, 200), ("2026-03-01", 1_000, 200)],  # 1,520
    "M5": [("2025-06-01", 2_000, 100)],  # outside the window: no profit counted
    "M6": [("2026-07-01", 300, None)],  # no cost: profit unknown
}
# Profit of profitable members 3,524; A = first 80% (2,819.2): M4 1,520 then M1 (before it
# 1,520); M2's 500 comes after 2,924 >= 2,819.2 but before 95% (3,347.8): B; M3 after 3,424: C.
# Potential: M1 spent 2,400 of silver's 3,000 (within 20%): near_tier; M2 and M6 bought only in
# the last six months: rising; M4 bought only in the six before: none.


async def build_consumers() -> dict[str, int]:
    """Record CONSUMERS; returns member ids by name."""
    ids: dict[str, int] = {}
    orders = count(1)
    for name, purchases in CONSUMERS.items():
        member = await Member.create(
            openid=f"o-{name}",
            name=name,
            tier="taste",
            joined_at=at("2025-01-01"),
            consent_at=at("2025-01-01"),
        )
        ids[name] = member.id
        for day, sale, cost in purchases:
            await record_purchase(
                member_id=member.id,
                order_id=f"C{next(orders):04d}",
                amount_fen=sale * YUAN,
                items=[
                    PurchaseLine(
                        "BAIJIU-500", 1, sale * YUAN, None if cost is None else cost * YUAN
                    )
                ],
                now=at(day),
                programme=PROGRAMME,
            )
    return ids


# Churn, as of NOW (last 12 months: after 2025-11-23 10:00; the 12 before: after 2024-11-23).
DRIFTERS: dict[str, list[tuple[str, int]]] = {
    # Every 30 days, then silent for 84 days: more than twice the rhythm.
    "C1": [("2026-06-01", 500), ("2026-07-01", 500), ("2026-07-31", 500), ("2026-08-30", 500)],
    # Weekly and still buying: nothing to flag.
    "C2": [("2026-11-01", 200), ("2026-11-08", 200), ("2026-11-15", 200), ("2026-11-22", 200)],
    # 10,000 yuan the year before, 2,000 this year: down 80%; rhythm 319 days, silent 43.
    "C3": [("2025-01-10", 5_000), ("2025-06-10", 5_000), ("2026-10-10", 2_000)],
    # Two purchases only: no rhythm yet, and nothing bought the year before.
    "C4": [("2025-12-01", 300), ("2026-01-01", 300)],
    # Both: gaps 31, 30 and 245 days (median 31), silent 325 days; 9,000 -> 1,000 yuan (-88%).
    "C5": [
        ("2025-03-01", 3_000),
        ("2025-04-01", 3_000),
        ("2025-05-01", 3_000),
        ("2026-01-01", 1_000),
    ],
}


async def build_drifters() -> dict[str, int]:
    ids: dict[str, int] = {}
    orders = count(1)
    for name, purchases in DRIFTERS.items():
        member = await Member.create(
            openid=f"o-{name}",
            name=name,
            tier="taste",
            joined_at=at("2024-01-01"),
            consent_at=at("2024-01-01"),
        )
        ids[name] = member.id
        for day, sale in purchases:
            await record_purchase(
                member_id=member.id,
                order_id=f"D{next(orders):04d}",
                amount_fen=sale * YUAN,
                now=at(day),
                programme=PROGRAMME,
            )
    return ids


async def valued(member_id: int, at: datetime, value_class: str = "A") -> None:
    """The member as the value-refresh of `at`'s day leaves them: of class `value_class` (A: a
    key customer), having bought once at `at`."""
    await MemberValue.create(
        member_id=member_id,
        day=at.date(),
        last_purchase_at=at,
        recency_days=0,
        frequency=1,
        monetary_fen=1,
        profit_fen=1,
        missing_cost_purchases=0,
        r_score=1,
        f_score=1,
        m_score=1,
        value_class=value_class,
        recent_fen=0,
        prior_fen=0,
        potential=None,
        quadrant="keep",
    )


class SlowRanking:
    """`ranking_for` held at a gate until the test opens it (a large club's ranking); counts
    the rankings started."""

    def __init__(self, fail: bool = False) -> None:
        self.gate = asyncio.Event()
        self.started = 0
        self.fail = fail

    async def __call__(self, flt: ReportFilter, rules: ValueRules, now: object) -> Kept | None:
        self.started += 1
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("the database went away mid-ranking")
        return await ranking_for(flt, rules, now)  # type: ignore[arg-type]
