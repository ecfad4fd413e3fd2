"""Refusals of the domain services, as the staff API answers them.

Each service raises its own exceptions; this is the one table that turns them into HTTP answers,
so the same refusal reads the same on every route.
"""

from __future__ import annotations

from bot.staff_api.errors import ApiError
from club.campaigns.lifecycle import CampaignError, NeedsApproval, UnknownCampaign
from club.campaigns.trial import NotBound
from club.codes.bottle import CodeBatchError
from club.members.enrolment import MemberNotFound
from club.points.ledger import InsufficientPoints, InvalidMovement, RefConflict, UnknownMember
from club.points.ops import LedgerError
from club.reports.filters import ReportError
from club.rewards.catalogue import RewardNotFound
from club.rewards.redemptions import RewardRefConflict, RewardSpecError
from club.rules.campaigns import TransitionRefused
from club.rules.programme import AboveLimit
from club.rules.standing import MemberBlocked
from club.sales.purchases import (
    ClosedStore,
    OrderConflict,
    PurchaseError,
    ReturnExceedsPurchase,
    UnknownOrder,
    UnknownStore,
)
from club.sales.stores import StoreConflict, StoreError, StoreNotFound
from club.segments.identify import BadEntry
from club.segments.service import SegmentError, SegmentNameTaken, UnknownSegment
from club.value.accounts import AccountError, ContactTaken, UnknownAccount
from club.value.managers import ManagerError, NotKeyCustomer
from club.value.tickets import TicketError, UnknownTicket

_TABLE: tuple[tuple[type[Exception], int, str], ...] = (
    (UnknownMember, 404, "not_found"),
    (MemberNotFound, 404, "not_found"),
    (MemberBlocked, 409, "member_blocked"),
    (RewardNotFound, 404, "not_found"),
    (InsufficientPoints, 409, "insufficient_points"),
    (RefConflict, 409, "ref_conflict"),
    (RewardRefConflict, 409, "ref_conflict"),
    (CodeBatchError, 409, "batch_conflict"),
    (OrderConflict, 409, "order_conflict"),
    (ReturnExceedsPurchase, 409, "return_exceeds_purchase"),
    (UnknownOrder, 404, "not_found"),
    (UnknownStore, 422, "unknown_store"),
    (AboveLimit, 422, "above_limit"),
    (ClosedStore, 422, "store_closed"),
    (StoreNotFound, 404, "not_found"),
    (StoreConflict, 409, "store_conflict"),
    (StoreError, 422, "invalid"),
    (InvalidMovement, 422, "invalid"),
    (RewardSpecError, 422, "invalid"),
    (PurchaseError, 422, "invalid"),
    (SegmentNameTaken, 409, "name_taken"),
    (SegmentError, 422, "invalid"),
    (UnknownSegment, 404, "not_found"),
    (BadEntry, 422, "invalid"),
    (UnknownCampaign, 404, "not_found"),
    (CampaignError, 422, "invalid"),
    (NeedsApproval, 409, "needs_approval"),
    (TransitionRefused, 409, "wrong_status"),
    (NotBound, 409, "wechat_not_bound"),
    (ReportError, 422, "invalid"),
    (UnknownAccount, 404, "not_found"),
    (ContactTaken, 409, "contact_taken"),
    (AccountError, 422, "invalid"),
    (UnknownTicket, 404, "not_found"),
    (TicketError, 422, "invalid"),
    (NotKeyCustomer, 409, "not_key_customer"),
    (ManagerError, 422, "invalid"),
    # Any other ledger refusal (e.g. a concurrent change to retry) changed nothing.
    (LedgerError, 409, "conflict"),
)


def domain_error(exc: Exception) -> ApiError | None:
    for kind, status, code in _TABLE:
        if isinstance(exc, kind):
            # A catalogue refusal's message starts with the field it is about.
            fields = (
                [str(exc).split()[0]] if isinstance(exc, RewardSpecError | StoreError) else None
            )
            if isinstance(exc, UnknownStore | ClosedStore):
                fields = ["store"]
            if isinstance(exc, AboveLimit | ReportError):
                fields = [exc.field]
            if isinstance(exc, SegmentError | CampaignError):
                fields = [exc.field]
            if isinstance(exc, BadEntry):
                fields = [exc.where]
            return ApiError(status, code, str(exc), fields=fields)
    return None
