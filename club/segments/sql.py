"""A rule document as one SQL condition over `member m`, values bound, on SQLite and PostgreSQL.

The condition goes into whatever statement needs it: a count, a sample, the INSERT ... SELECT
that freezes a campaign's audience. Nothing about members is read into Python to filter them.

Every leaf is written to be true or false, never NULL, so that `not` means "everyone else": a
member with no store of origin is *not* from store S, and `NOT (m.source_ref = 'S')` alone would
be NULL for them and drop them. Nullable columns are therefore tested with `IS NOT NULL` first
(`FALSE AND NULL` is false), and sums are `COALESCE`d.

Purchases count net of returns (`amount_fen - returned_fen`); a purchase wholly returned is not
counted as a purchase. A member without a tier is in the lowest tier (as everywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from club.db.raw import Params
from club.segments import rules as r


class NotYetAvailable(ValueError):
    """A rule the document accepts but that cannot be evaluated yet (none at present: value
    classes and churn flags are computed by the daily value-refresh and churn-scan)."""


def year_ago(now: datetime) -> datetime:
    """The same moment twelve months back (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - 1)
    except ValueError:
        return now.replace(year=now.year - 1, day=28)


class Compiler:
    """Turns rules into SQL with `params` filled as it goes (one compiler per statement)."""

    def __init__(self, params: Params, now: datetime, lowest_tier: str) -> None:
        self.p = params
        self.now = now
        self.lowest_tier = lowest_tier
        self._leaf: dict[type[Any], Callable[[Any], str]] = {
            r.Joined: lambda rule: self._when("m.joined_at", rule),
            r.Followed: lambda rule: self._when("m.followed_at", rule),
            r.Unfollowed: lambda rule: self._when("m.unfollowed_at", rule),
            r.TierIs: self._tier,
            r.StatusIs: lambda rule: self.p.one_of("m.status", rule.statuses),
            r.LastPurchase: self._last_purchase,
            r.Spend: self._spend,
            r.PurchaseCount: self._purchase_count,
            r.PointsBalance: lambda rule: self._between("m.points_balance", rule.bounds()),
            r.PointsExpiring: self._points_expiring,
            r.StoreIs: self._store,
            r.ChannelLevelIs: self._channel_level,
            r.BirthdayMonth: self._birthday_month,
            r.LanguageIs: lambda rule: self.p.one_of("m.language", rule.languages),
            r.Tags: self._tags,
            r.InList: self._in_list,
            r.ValueClass: self._value_class,
            r.ChurnRisk: self._churn_risk,
        }

    def condition(self, rule: r.Rule) -> str:
        if isinstance(rule, r.And):
            return "(" + " AND ".join(self.condition(kid) for kid in rule.rules) + ")"
        if isinstance(rule, r.Or):
            return "(" + " OR ".join(self.condition(kid) for kid in rule.rules) + ")"
        if isinstance(rule, r.Not):
            return f"(NOT {self.condition(rule.of)})"
        return f"({self._leaf[type(rule)](rule)})"

    # --- pieces ----------------------------------------------------------------------------

    def _days_ago(self, days: int) -> str:
        return self.p.add(self.now - timedelta(days=days))

    def _when(self, column: str, rule: r._When) -> str:
        parts = [f"{column} IS NOT NULL"]
        if rule.after is not None:
            parts.append(f"{column} >= {self.p.add(rule.after)}")
        if rule.before is not None:
            parts.append(f"{column} < {self.p.add(rule.before)}")
        if rule.within_days is not None:
            parts.append(f"{column} >= {self._days_ago(rule.within_days)}")
        if rule.more_than_days is not None:
            parts.append(f"{column} < {self._days_ago(rule.more_than_days)}")
        return " AND ".join(parts)

    def _between(self, expression: str, bounds: tuple[int | None, int | None]) -> str:
        low, high = bounds
        parts = []
        if low is not None:
            parts.append(f"{expression} >= {self.p.add(low)}")
        if high is not None:
            parts.append(f"{expression} <= {self.p.add(high)}")
        return " AND ".join(parts)

    def _tier(self, rule: r.TierIs) -> str:
        lowest = self.p.add(self.lowest_tier)
        return self.p.one_of(f"COALESCE(m.tier, {lowest})", rule.tiers)

    def _purchases(self, since: str | None = None) -> str:
        """The member's purchases that count (not wholly returned), optionally since a time."""
        sql = "FROM purchase p WHERE p.member_id = m.id AND p.returned_fen < p.amount_fen"
        return sql + (f" AND p.created_at >= {since}" if since else "")

    def _last_purchase(self, rule: r.LastPurchase) -> str:
        if rule.within_days is not None:
            return f"EXISTS (SELECT 1 {self._purchases(self._days_ago(rule.within_days))})"
        assert rule.more_than_days is not None
        recent = self._purchases(self._days_ago(rule.more_than_days))
        return f"EXISTS (SELECT 1 {self._purchases()}) AND NOT EXISTS (SELECT 1 {recent})"

    def _spend(self, rule: r.Spend) -> str:
        since = self.p.add(year_ago(self.now)) if rule.period == "12_months" else None
        total = f"COALESCE((SELECT SUM(p.amount_fen - p.returned_fen) {self._purchases(since)}), 0)"
        return self._between(total, rule.bounds())

    def _purchase_count(self, rule: r.PurchaseCount) -> str:
        since = self._days_ago(rule.within_days) if rule.within_days is not None else None
        return self._between(f"(SELECT COUNT(*) {self._purchases(since)})", rule.bounds())

    def _value_class(self, rule: r.ValueClass) -> str:
        """The class of the last value-refresh (`member_value`); a member who never bought has
        none, and is in no class."""
        classes = self.p.one_of("v.value_class", rule.classes)
        return f"EXISTS (SELECT 1 FROM member_value v WHERE v.member_id = m.id AND {classes})"

    def _churn_risk(self, rule: r.ChurnRisk) -> str:
        """From today's churn-scan (`member_churn`): `high` flagged for both a silence beyond
        their rhythm and a fall in spend, `medium` for one of them, `low` not flagged."""
        flag = "SELECT 1 FROM member_churn c WHERE c.member_id = m.id"

        def both() -> str:  # every placeholder bound is used (SQLite counts them)
            yes = self.p.add(True)
            return f"c.silent = {yes} AND c.spend_fell = {yes}"

        levels = {
            "high": lambda: f"EXISTS ({flag} AND {both()})",
            "medium": lambda: f"EXISTS ({flag} AND NOT ({both()}))",
            "low": lambda: f"NOT EXISTS ({flag})",
        }
        return " OR ".join(levels[level]() for level in dict.fromkeys(rule.levels))

    def _points_expiring(self, rule: r.PointsExpiring) -> str:
        now = self.p.add(self.now)
        until = self.p.add(self.now + timedelta(days=rule.within_days))
        expiring = (
            "COALESCE((SELECT SUM(l.remaining) FROM points_lot l WHERE l.member_id = m.id "
            f"AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at > {now} "
            f"AND l.expires_at <= {until}), 0)"
        )
        return f"{expiring} >= {self.p.add(rule.min_points)}"

    def _origin(self) -> str:
        return "m.source_kind IS NOT NULL AND m.source_kind = 'store' AND m.source_ref IS NOT NULL"

    def _store(self, rule: r.StoreIs) -> str:
        if rule.via == "origin":
            return f"{self._origin()} AND {self.p.one_of('m.source_ref', rule.stores)}"
        stores = self.p.one_of("p.store_id", rule.stores)
        return f"EXISTS (SELECT 1 {self._purchases()} AND p.store_id IS NOT NULL AND {stores})"

    def _channel_level(self, rule: r.ChannelLevelIs) -> str:
        levels = self.p.one_of("s.channel_level", rule.levels)
        if rule.via == "origin":
            return (
                f"{self._origin()} AND EXISTS (SELECT 1 FROM store s "
                f"WHERE s.id = m.source_ref AND {levels})"
            )
        return (
            "EXISTS (SELECT 1 FROM purchase p JOIN store s ON s.id = p.store_id "
            f"WHERE p.member_id = m.id AND p.returned_fen < p.amount_fen AND {levels})"
        )

    def _birthday_month(self, rule: r.BirthdayMonth) -> str:
        if rule.calendar == "lunar":
            column = "m.birthday_lunar_month"
            return f"{column} IS NOT NULL AND {self.p.one_of(column, rule.months, 'int')}"
        # birthday_mmdd is month * 100 + day: integer division gives the month on both backends.
        month = "(m.birthday_mmdd / 100)"
        return f"m.birthday_mmdd IS NOT NULL AND {self.p.one_of(month, rule.months, 'int')}"

    def _tags(self, rule: r.Tags) -> str:
        tags = sorted(set(rule.tags))
        wanted = self.p.one_of("t.tag", tags)
        if rule.match == "any":
            return f"EXISTS (SELECT 1 FROM member_tag t WHERE t.member_id = m.id AND {wanted})"
        return (
            f"(SELECT COUNT(*) FROM member_tag t WHERE t.member_id = m.id AND {wanted}) "
            f"= {self.p.add(len(tags))}"
        )

    def _in_list(self, rule: r.InList) -> str:
        return list_condition(self.p, rule.segment_id)


def list_condition(params: Params, segment_id: int) -> str:
    """The members of a fixed list."""
    return (
        "EXISTS (SELECT 1 FROM segment_member sm WHERE sm.member_id = m.id "
        f"AND sm.segment_id = {params.add(segment_id)})"
    )
