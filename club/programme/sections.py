"""The programme's optional sections for running a club day to day: every one has defaults, so a
programme file written before them still loads. Each error names its key, as the loader's do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from club.rules.programme import (
    Counter,
    EarningCaps,
    ProgrammeError,
    RewardSeed,
    StaffPolicy,
    TierLadder,
    Vouchers,
)

if TYPE_CHECKING:
    from club.programme.table import Table as _Table


def optional(root: _Table, name: str) -> _Table | None:
    return root.table(name) if name in root.data else None


def only(table: _Table, allowed: Iterable[str], what: str) -> None:
    """Refuse a key the section does not have (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(table.data) - set(allowed))
    if unknown:
        raise ProgrammeError(f"{table.key(unknown[0])}: not {what}")


def counter(root: _Table) -> Counter:
    table = optional(root, "counter")
    if table is None:
        return Counter()
    only(table, ("pending_days",), "a counter setting")
    return Counter(pending_days=table.integer("pending_days", low=1, high=365, default=30))


def _flag(table: _Table, name: str, default: bool) -> bool:
    value = table.raw(name, default)
    if not isinstance(value, bool):
        raise ProgrammeError(f"{table.key(name)}: expected true or false, got {value!r}")
    return value


def vouchers(root: _Table) -> Vouchers:
    table = optional(root, "vouchers")
    if table is None:
        return Vouchers()
    only(table, ("valid_days", "refund_on_expiry"), "a voucher setting")
    return Vouchers(
        valid_days=table.integer("valid_days", low=0, high=3650, default=30),
        refund_on_expiry=_flag(table, "refund_on_expiry", True),
    )


_REWARD_KEYS = (
    "key", "name", "description", "points_cost", "stock", "min_tier", "per_member_limit",
)  # fmt: skip


def _maybe_int(table: _Table, name: str, low: int) -> int | None:
    return table.integer(name, low=low) if name in table.data else None


def rewards(root: _Table, tiers: TierLadder) -> tuple[RewardSeed, ...]:
    if "rewards" not in root.data:
        return ()
    seeds: list[RewardSeed] = []
    for table in root.tables("rewards"):
        only(table, _REWARD_KEYS, "a reward setting")
        key = table.string("key")
        if len(key) > 64 or any(s.key == key for s in seeds):
            raise ProgrammeError(f"{table.key('key')}: {key!r} is too long or used twice")
        name = table.string("name")
        if len(name) > 64:
            raise ProgrammeError(f"{table.key('name')}: at most 64 characters")
        description = table.raw("description", "")
        if not isinstance(description, str) or len(description) > 255:
            raise ProgrammeError(f"{table.key('description')}: a string of at most 255 characters")
        min_tier = table.string("min_tier") if "min_tier" in table.data else None
        if min_tier is not None and min_tier not in tiers.codes:
            raise ProgrammeError(f"{table.key('min_tier')}: {min_tier!r} is not a tier code")
        seeds.append(
            RewardSeed(
                key=key,
                name=name,
                points_cost=table.integer("points_cost", low=1),
                description=description,
                stock=_maybe_int(table, "stock", 0),
                min_tier=min_tier,
                per_member_limit=_maybe_int(table, "per_member_limit", 1),
            )
        )
    return tuple(seeds)


def staff(root: _Table) -> StaffPolicy:
    table = optional(root, "staff")
    if table is None:
        return StaffPolicy()
    only(table, ("token_days",), "a staff setting")
    return StaffPolicy(token_days=table.integer("token_days", low=1, high=3650, default=90))


def earning_caps(root: _Table) -> EarningCaps:
    table = optional(root, "earning_caps")
    if table is None:
        return EarningCaps()
    only(table, ("per_order", "per_day", "per_month"), "an earning cap")
    caps = EarningCaps(
        per_order=table.integer("per_order", default=0),
        per_day=table.integer("per_day", default=0),
        per_month=table.integer("per_month", default=0),
    )
    if caps.per_day and caps.per_month and caps.per_month < caps.per_day:
        raise ProgrammeError(f"{table.key('per_month')}: {caps.per_month} is below per_day")
    return caps
