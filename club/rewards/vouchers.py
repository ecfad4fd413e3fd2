"""Vouchers at the store: look one up, hand the reward over once, cancel.

A redemption's voucher code is what the member shows at the store. Marking it used is one
conditional update (`active` and not expired -> `used`), so two clerks scanning the same code at
once hand over one reward; the second is told when and where it was used. Vouchers expire by the
programme's rule (`vouchers.valid_days` after redemption); the daily run marks them expired
(`club.rewards.voucher_expiry`). What the member should be told (a voucher used) is returned as
an event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from club.codes.codegen import VOUCHER_BODY_LENGTH, CodeShape, classify, format_code
from club.db.models.catalog import Redemption, RedemptionStatus, Reward
from club.db.models.ledger import Store
from club.db.models.members import Member
from club.members.phone import mask_phone
from club.points import ledger as points
from club.rewards.redemptions import RedemptionView, cancel_redemption
from club.rules.channels import StoreStatus
from club.rules.programme import Programme

log = logging.getLogger(__name__)

VOUCHER_CODE_LENGTH = VOUCHER_BODY_LENGTH + 1


class VoucherNotFound(LookupError):
    pass


class VoucherMistyped(ValueError):
    """The code's check character does not match: a typo, not a voucher anyone holds."""


class VoucherNotUsable(Exception):
    """Used, cancelled or expired: the message says when (and where, for a used one)."""


class VoucherStoreError(ValueError):
    """The store named for a use is unknown or closed."""


@dataclass(frozen=True)
class VoucherView:
    code: str
    """Printed form (`ABCD-EFGH-JK`)."""
    redemption_id: int
    reward_id: int
    reward_name: str
    points: int
    member_id: int
    masked_phone: str
    status: RedemptionStatus
    """`expired` as soon as its time has passed, even before the daily run records it."""
    redeemed_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    used_store_id: str | None
    used_store_name: str | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class VoucherUsed:
    """Event: the member's voucher was handed over (the lead wires the message)."""

    member_id: int
    redemption_id: int
    reward_name: str
    code: str
    used_at: datetime
    store_name: str | None


def voucher_code(text: str) -> str:
    """The stored form of a code as a clerk typed or scanned it; VoucherMistyped / NotFound."""
    shape, code = classify(text, VOUCHER_CODE_LENGTH)
    if shape is CodeShape.MISTYPED:
        raise VoucherMistyped(f"{format_code(code)} does not check out: a typo?")
    if shape is CodeShape.NOT_A_CODE:
        raise VoucherNotFound(f"{text!r} is not a voucher code")
    return code


def _expired(r: Redemption, now: datetime) -> bool:
    return r.status == RedemptionStatus.ACTIVE and r.expires_at is not None and r.expires_at <= now


async def _view(r: Redemption, now: datetime) -> VoucherView:
    reward = await Reward.get(id=r.reward_id)
    member = await Member.get(id=r.member_id)
    store = await Store.get_or_none(id=r.used_store_id) if r.used_store_id else None
    status = RedemptionStatus.EXPIRED if _expired(r, now) else RedemptionStatus(r.status)
    return VoucherView(
        format_code(r.voucher_code), r.id, r.reward_id, reward.name, r.points, r.member_id,
        mask_phone(member.phone), status, r.created_at, r.expires_at, r.used_at,
        r.used_store_id, store.name if store else None, r.cancelled_at,
    )  # fmt: skip


async def _redemption(code_text: str) -> Redemption:
    code = voucher_code(code_text)
    found = await Redemption.get_or_none(voucher_code=code)
    if found is None:
        raise VoucherNotFound(f"no voucher {format_code(code)}")
    return found


async def find_voucher(code_text: str, now: datetime) -> VoucherView:
    return await _view(await _redemption(code_text), now)


def _stamp(at: datetime | None, now: datetime) -> str:
    return at.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M") if at else "?"


def _why_not(v: VoucherView, now: datetime) -> str:
    if v.status is RedemptionStatus.USED:
        where = f" at {v.used_store_name} ({v.used_store_id})" if v.used_store_name else ""
        if v.used_store_id and not v.used_store_name:
            where = f" at store {v.used_store_id}"
        return f"voucher {v.code} was already used on {_stamp(v.used_at, now)}{where}"
    if v.status is RedemptionStatus.CANCELLED:
        return f"voucher {v.code} was cancelled on {_stamp(v.cancelled_at, now)}"
    return f"voucher {v.code} expired on {_stamp(v.expires_at, now)}"


async def use_voucher(
    code_text: str, now: datetime, *, store_id: str | None, staff_id: int | None
) -> tuple[VoucherView, VoucherUsed]:
    """Hand the reward over: the voucher becomes used, once. VoucherNotUsable says when and
    where it was used (or that it was cancelled or expired)."""
    redemption = await _redemption(code_text)
    store_name = None
    if store_id is not None:
        store = await Store.get_or_none(id=store_id)
        if store is None or store.status == StoreStatus.CLOSED:
            raise VoucherStoreError(f"store: {store_id!r} is not an open store")
        store_name = store.name
    usable = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    claimed = await Redemption.filter(
        usable, id=redemption.id, status=RedemptionStatus.ACTIVE
    ).update(status=RedemptionStatus.USED, used_at=now, used_store_id=store_id, used_by=staff_id)
    fresh = await Redemption.get(id=redemption.id)
    view = await _view(fresh, now)
    if not claimed:
        raise VoucherNotUsable(_why_not(view, now))
    log.info("voucher used redemption=%d store=%s", redemption.id, store_id)
    event = VoucherUsed(view.member_id, view.redemption_id, view.reward_name, view.code, now,
                        store_name)  # fmt: skip
    return view, event


async def cancel_voucher(
    code_text: str, now: datetime, programme: Programme, *, staff_id: int
) -> tuple[VoucherView, RedemptionView, int]:
    """Staff cancel a redemption (the member asked, at the counter or by phone): its points go
    back to their lots and its item to stock; the points that came back spendable (not those
    of lots expired since the redemption, which expire at once). Used or expired vouchers are
    refused (RedemptionRefused); cancelling twice answers the first cancellation."""
    redemption = await _redemption(code_text)
    if _expired(redemption, now):
        raise VoucherNotUsable(_why_not(await _view(redemption, now), now))
    done = await cancel_redemption(redemption.id, now, programme, staff_id=staff_id)
    returned = done.points - await points.expired_on_refund(f"redemption:{redemption.id}")
    return await _view(await Redemption.get(id=redemption.id), now), done, returned
