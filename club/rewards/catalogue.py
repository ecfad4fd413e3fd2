"""The reward catalogue as staff manage it: add a reward (idempotent with a ref), list them all.

Redemptions, which take points and stock, live in `club.rewards.redemptions`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

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
