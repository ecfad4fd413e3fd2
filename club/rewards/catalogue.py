"""The reward catalogue as staff manage it: add a reward (idempotent with a ref), list them all,
edit or disable one, restock it; and the programme's starting catalogue, seeded once.

Redemptions, which take points and stock, live in `club.rewards.redemptions`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from club.db.models.catalog import Reward
from club.rules.programme import Programme


class RewardSpecError(ValueError):
    """A catalogue entry with impossible values (the message names the field)."""


class RewardRefConflict(Exception):
    """The creation ref was already used for a reward with other values; nothing was written."""


@dataclass(frozen=True)
class RewardView:
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
    ref: str | None = None
    """The idempotency key it was created with, if any."""


def reward_view(r: Reward) -> RewardView:
    return RewardView(
        r.id, r.name, r.description, r.points_cost, r.stock, r.min_tier, r.per_member_limit,
        r.active_from, r.active_until, r.cancel_window_hours, r.enabled, r.ref,
    )  # fmt: skip


def _request_digest(spec: dict[str, object]) -> str:
    """The request in one canonical form: times as UTC instants, so any offset reads the same."""
    canonical = {
        key: value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
        for key, value in spec.items()
    }
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def _created_with(ref: str, digest: str) -> RewardView | None:
    """The reward an earlier request with this ref created; RewardRefConflict if it differed."""
    reward = await Reward.get_or_none(ref=ref)
    if reward is None:
        return None
    if reward.request_digest != digest:
        raise RewardRefConflict(f"ref {ref!r} was already used for reward {reward.id}")
    return reward_view(reward)


async def create_reward(
    name: str,
    points_cost: int,
    now: datetime,
    programme: Programme,
    *,
    description: str = "",
    stock: int | None = None,
    min_tier: str | None = None,
    per_member_limit: int | None = None,
    active_from: datetime | None = None,
    active_until: datetime | None = None,
    cancel_window_hours: int = 24,
    ref: str | None = None,
) -> RewardView:
    """Add a catalogue entry (staff API); RewardSpecError names the first bad field.

    With a `ref` (the caller's idempotency key) a retried request returns the first reward;
    the same ref with other values is RewardRefConflict. Without one each call adds a reward.
    """
    if ref is not None and (not ref.strip() or len(ref) > 128):
        raise RewardSpecError("ref must be 1-128 characters")
    if not name.strip() or len(name) > 64:
        raise RewardSpecError("name must be 1-64 characters")
    if len(description) > 255:
        raise RewardSpecError("description must be at most 255 characters")
    if points_cost < 1:
        raise RewardSpecError("points_cost must be at least 1")
    if stock is not None and stock < 0:
        raise RewardSpecError("stock must not be negative")
    if per_member_limit is not None and per_member_limit < 1:
        raise RewardSpecError("per_member_limit must be at least 1")
    if not 0 <= cancel_window_hours <= 24 * 90:
        raise RewardSpecError("cancel_window_hours must be between 0 and 2160")
    if active_from and active_until and active_until <= active_from:
        raise RewardSpecError("active_until must be after active_from")
    if min_tier is not None and min_tier not in programme.tiers.codes:
        raise RewardSpecError(f"min_tier must be one of {', '.join(programme.tiers.codes)}")
    spec: dict[str, Any] = dict(  # the columns, as Reward.create takes them
        name=name.strip(), description=description, points_cost=points_cost, stock=stock,
        min_tier=min_tier, per_member_limit=per_member_limit, active_from=active_from,
        active_until=active_until, cancel_window_hours=cancel_window_hours,
    )  # fmt: skip
    digest = _request_digest(spec) if ref is not None else None
    if ref is not None and digest is not None:
        first = await _created_with(ref, digest)
        if first is not None:
            return first
    try:
        reward = await Reward.create(**spec, created_at=now, ref=ref, request_digest=digest)
    except IntegrityError:
        # A concurrent request with the same ref won: answer with its reward.
        first = await _created_with(ref, digest) if ref is not None and digest else None
        if first is None:
            raise
        return first
    return reward_view(reward)


async def list_catalogue() -> list[RewardView]:
    """Every reward, as staff see them."""
    return [reward_view(r) for r in await Reward.all().order_by("id")]


class RewardNotFound(LookupError):
    def __init__(self, reward_id: int) -> None:
        super().__init__(f"no reward with id {reward_id}")
        self.reward_id = reward_id


class StockNotLimited(Exception):
    """The reward has no stock limit: there is nothing to restock."""


class StockTooLow(Exception):
    """Taking this many items away would leave the stock below zero; nothing changed."""


EDITABLE = frozenset(
    {
        "name", "description", "points_cost", "min_tier", "per_member_limit", "active_from",
        "active_until", "cancel_window_hours", "enabled",
    }
)  # fmt: skip
"""What `update_reward` may change. Stock is not here: it moves only by `restock`, relatively,
so an edit never overwrites what redemptions took meanwhile."""


async def update_reward(
    reward_id: int, changes: dict[str, Any], programme: Programme
) -> tuple[RewardView, tuple[str, ...]]:
    """Change a reward's details (disable it with `enabled=False`); the fields that changed.

    A redemption already made keeps the points it cost (its own row holds them).
    """
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise RewardSpecError(f"{unknown[0]} cannot be changed here")
    reward = await Reward.get_or_none(id=reward_id)
    if reward is None:
        raise RewardNotFound(reward_id)
    merged = {name: getattr(reward, name) for name in EDITABLE} | changes
    if "name" in changes:
        merged["name"] = str(changes["name"]).strip()
    _check_spec(merged, programme)
    changed = {k: v for k, v in merged.items() if getattr(reward, k) != v}
    if changed:
        await Reward.filter(id=reward_id).update(**changed)
        reward = await Reward.get(id=reward_id)
    return reward_view(reward), tuple(sorted(changed))


def _check_spec(spec: dict[str, Any], programme: Programme) -> None:
    if not str(spec["name"]).strip() or len(spec["name"]) > 64:
        raise RewardSpecError("name must be 1-64 characters")
    if len(spec["description"]) > 255:
        raise RewardSpecError("description must be at most 255 characters")
    if spec["points_cost"] < 1:
        raise RewardSpecError("points_cost must be at least 1")
    if spec["per_member_limit"] is not None and spec["per_member_limit"] < 1:
        raise RewardSpecError("per_member_limit must be at least 1")
    if not 0 <= spec["cancel_window_hours"] <= 24 * 90:
        raise RewardSpecError("cancel_window_hours must be between 0 and 2160")
    start, end = spec["active_from"], spec["active_until"]
    if start and end and end <= start:
        raise RewardSpecError("active_until must be after active_from")
    tier = spec["min_tier"]
    if tier is not None and tier not in programme.tiers.codes:
        raise RewardSpecError(f"min_tier must be one of {', '.join(programme.tiers.codes)}")


async def restock(reward_id: int, add: int) -> RewardView:
    """Add items to a reward's stock (negative: take some away), by one conditional update, so
    redemptions running at the same time lose nothing."""
    if add == 0:
        raise RewardSpecError("add must not be zero")
    query = Reward.filter(id=reward_id, stock__isnull=False)
    if add < 0:
        query = query.filter(stock__gte=-add)
    if not await query.update(stock=F("stock") + add):
        reward = await Reward.get_or_none(id=reward_id)
        if reward is None:
            raise RewardNotFound(reward_id)
        if reward.stock is None:
            raise StockNotLimited(f"reward {reward_id} has no stock limit")
        raise StockTooLow(f"reward {reward_id} has {reward.stock} items; {-add} cannot be taken")
    return reward_view(await Reward.get(id=reward_id))


SEED_REF = "programme:{key}"


async def seed_rewards(programme: Programme, now: datetime) -> int:
    """Create the programme's `[[rewards]]` that do not exist yet; how many were created.

    Found by their creation ref (`programme:<key>`), never updated: once created, a reward's
    price, stock and availability are the database's, changed by staff. Safe to run at every
    start-up, by several workers at once (the ref is unique).
    """
    created = 0
    for seed in programme.rewards:
        ref = SEED_REF.format(key=seed.key)
        if await Reward.filter(ref=ref).exists():
            continue
        try:
            await Reward.create(
                name=seed.name, description=seed.description, points_cost=seed.points_cost,
                stock=seed.stock, min_tier=seed.min_tier, per_member_limit=seed.per_member_limit,
                created_at=now, ref=ref,
            )  # fmt: skip
        except IntegrityError:
            continue  # another worker seeded it a moment ago
        created += 1
    return created
