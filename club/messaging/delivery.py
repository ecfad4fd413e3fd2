"""Sending outbox rows: claim a row, hand it to the `Sender`, record what became of it.

- `deliver` claims the row with one conditional update (queued, or failed by a quota, and due:
  -> sending, attempts + 1), so of two workers delivering the same row exactly one sends. A
  customer-service row is first checked against the member's window allowance, counted from the
  outbox (`club.messaging.window.refusal`): used up, it is skipped like a 45047.
- The sender's failure is turned into the row's outcome by the one rule
  (`club.messaging.outcomes.after_failure`): retried later, failed, skipped, waiting for the
  quota, or outcome unknown (never sent again). An unanswered attempt is remembered on the row
  (`maybe_sent`, and when: `maybe_sent_at`): a row with no attempt left after one ends outcome
  unknown, never failed. Such a row claimed for a retry the de-duplication window no longer
  covers (nothing sent it in time) is not sent: outcome unknown (`outcomes.before_attempt`).
- `deliver_with_fallback`: a customer-service row the window refused is sent again as the
  template its envelope carries, as a row of its own (`<key>:template`).
- `deliver_ids` (a queue task's chunk): quiet hours are checked again at the time of sending
  (a backlog reaching into the evening holds its rows until morning; answers to the member are
  never held), then each row is delivered with its fallback.
- A row left `sending` past its lease (a minute) lost its sender (`settle_abandoned`): a
  template row still inside WeChat's de-duplication window and with an attempt left goes back
  to the queue (sending it again cannot show it twice; its attempt counts as unanswered), and
  so does a row whose sender stopped before its first attempt was stamped (it never went); any
  other is recorded as failed, outcome unknown, and never sent again. A campaign's row put back
  waits for its campaign's chunks; if the campaign was cancelled meanwhile, the campaigns' tick
  takes it back (`club.campaigns.unsent.withdraw_leftovers`).
- `withdraw`: rows not to be sent after all (a campaign cancelled, or gone by its mass send) are
  skipped; one an attempt of which went unanswered is outcome unknown instead
  (`outcomes.withdrawn`), and its member is not sent another way.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import F, Q

from club.clock import Clock
from club.db.models.members import Member
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.db.openids import with_openid
from club.db.raw import Params, dialect, rows
from club.messaging.keys import template_copy_key
from club.messaging.kinds import Kind, guarantee
from club.messaging.message import decode
from club.messaging.outbox import IMMEDIATE, record_template_copy
from club.messaging.outcomes import (
    MAX_ATTEMPTS,
    Decision,
    Outcome,
    after_failure,
    before_attempt,
    repeatable_after,
    withdrawn,
)
from club.messaging.plan import DeliveryRules
from club.messaging.sending import Failure, Receipt, Sender, SendFailed
from club.messaging.window import OUTCOME_UNKNOWN_PREFIX, refusal

log = logging.getLogger(__name__)

SENDING_LEASE = timedelta(minutes=1)
"""How long a claimed row may stay `sending`. A send is one HTTP call with a 10-second timeout
and at most three quick retries (about 45 s at worst), so a row sending for longer lost its
sender. Settling a row whose sender is only slow repeats nothing that shows: a template row
sent again carries the same `client_msg_id` (WeChat shows it once), any other is recorded
outcome unknown and never sent again (the slow sender's answer is then not recorded)."""
OUTCOME_UNKNOWN = f"{OUTCOME_UNKNOWN_PREFIX}: the send may have reached WeChat"
CHUNK = 500


class DeliveryStatus(StrEnum):
    """What one `deliver` call came to."""

    SENT = "sent"
    DRY_RUN = "dry_run"
    OUTSIDE_WINDOW = "outside_window"
    """45015/45047, or the window's allowance used: skipped (its template may go instead)."""
    UNREACHABLE = "unreachable"
    QUOTA = "quota"
    RETRY_LATER = "retry_later"
    """Not sent now, may go later (back-off, or not yet due)."""
    FAILED = "failed"
    OUTCOME_UNKNOWN = "outcome_unknown"
    DUPLICATE = "duplicate"
    """Nothing done: sent, being sent or settled already (or no such row)."""
    NOT_SENT = "not_sent"
    """Claimed, then not sent because its batch was stopped: queued again as it was."""


_STATUS = {
    Outcome.OUTSIDE_WINDOW: DeliveryStatus.OUTSIDE_WINDOW,
    Outcome.UNREACHABLE: DeliveryStatus.UNREACHABLE,
    Outcome.QUOTA: DeliveryStatus.QUOTA,
    Outcome.FAILED: DeliveryStatus.FAILED,
    Outcome.OUTCOME_UNKNOWN: DeliveryStatus.OUTCOME_UNKNOWN,
    Outcome.RETRY: DeliveryStatus.RETRY_LATER,
}


@dataclass(frozen=True)
class Delivered:
    status: DeliveryStatus
    outbox_id: int
    """The row it came to: the original, or the template copy sent in its place."""
    quota_answer: bool = False
    """WeChat answered 45009 (or it was held for that answer) whatever the row came to: after
    an unanswered attempt it ends outcome unknown, and the day's quota is spent all the same."""

    @property
    def quota_spent(self) -> bool:
        """WeChat says the day's template quota is spent: send no other template today."""
        return self.quota_answer or self.status is DeliveryStatus.QUOTA


def claimable() -> Q:
    """Rows a sender may claim: queued, or failed for a used-up quota (tried again once due)."""
    return Q(status=OutboxStatus.QUEUED) | Q(status=OutboxStatus.FAILED, outcome=Outcome.QUOTA)


def swept() -> Q:
    """Rows the outbox sweeps may hand to a sender: any but a campaign's. Those go with their
    campaign's chunks only (`club.campaigns.fanout`): at its pace, never while it is paused,
    withdrawn when it is cancelled; the campaign's tick hands a stalled chunk on again."""
    return ~Q(kind=Kind.CAMPAIGN.value)


class Delivery:
    """Built once per process with its sender (WeChat, dry run, or a test's fake)."""

    def __init__(
        self,
        sender: Sender,
        rules: DeliveryRules,
        clock: Clock,
        *,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.sender = sender
        self.rules = rules
        self.clock = clock
        self.max_attempts = max_attempts

    async def deliver(self, outbox_id: int) -> DeliveryStatus:
        """Send one row if it is due and nobody else has it; record and return the outcome."""
        now = self.clock.now()
        claimed = await OutboxMessage.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            claimable(),
            id=outbox_id,
            attempts__lt=self.max_attempts,
        ).update(status=OutboxStatus.SENDING, attempts=F("attempts") + 1, updated_at=now)
        if not claimed:
            return await self._not_claimed(outbox_id)
        row = await OutboxMessage.get(id=outbox_id)
        if row.first_attempt_at is None:
            row.first_attempt_at = now
            await OutboxMessage.filter(id=outbox_id).update(first_attempt_at=now)
        sent = await self.send_claimed(row, now)
        if not isinstance(sent, Receipt):
            return sent.status
        await _settle(
            row,
            OutboxStatus.SENT,
            Outcome.DRY_RUN if sent.dry_run else Outcome.SENT,
            None,
            dry_run=sent.dry_run,
            sent_at=now,
            wechat_msgid=sent.msgid,
        )
        return DeliveryStatus.DRY_RUN if sent.dry_run else DeliveryStatus.SENT

    async def send_claimed(self, row: OutboxMessage, now: datetime) -> Receipt | Delivered:
        """Send a row this sender has claimed (`sending`, its first attempt stamped): the
        receipt, for the caller to record as sent; or what else it came to, already recorded."""
        too_late = before_attempt(
            guarantee(row.channel.value),
            first_attempt_at=row.first_attempt_at,
            maybe_sent=row.maybe_sent,
            maybe_sent_at=row.maybe_sent_at,
            now=now,
        )
        if too_late is not None:
            # Due inside WeChat's window but claimed after it (workers down, a backlog): sent
            # now it could show twice. Not sent, so this claim is no attempt.
            log.warning("outbox %s (%s): retry past the de-duplication window", row.id, row.kind)
            await _record(
                row,
                too_late,
                "not sent again: de-duplication window over",
                attempts=row.attempts - 1,
            )
            return Delivered(DeliveryStatus.OUTCOME_UNKNOWN, row.id)
        if row.channel is OutboxChannel.CUSTOM:
            # Asked after the claim: of two senders racing for one member's last allowed
            # message, at least one sees the other's row `sending` and holds back.
            closed = await refusal(row, self.rules, now)
            if closed is not None:
                await _settle(row, OutboxStatus.SKIPPED, Outcome.REFUSED_BY_RULES, closed)
                return Delivered(DeliveryStatus.OUTSIDE_WINDOW, row.id)
        try:
            envelope = decode(row.payload)
        except ValueError as exc:  # a row written by hand or an old version: no retry helps
            await _settle(row, OutboxStatus.FAILED, Outcome.FAILED, f"bad payload: {exc}")
            return Delivered(DeliveryStatus.FAILED, row.id)
        try:
            return await self.sender.send(
                row.openid, envelope.content, ref=f"clubbot-outbox-{row.id}"
            )
        except SendFailed as failed:
            return await self._failed(row, failed, now)

    async def hold_for_quota(self, row: OutboxMessage, now: datetime) -> Delivered:
        """A claimed template row not sent because WeChat already answered 45009 today (to
        another row): recorded as if WeChat had answered it so, without asking again (waiting
        for the quota; outcome unknown after an unanswered attempt, by the same rule)."""
        held = SendFailed(Failure.QUOTA, "45009 (not asked again)")
        return await self._failed(row, held, now, quiet=True)  # one warning for the 45009 itself

    async def deliver_with_fallback(self, outbox_id: int, counts: Counter[str]) -> Delivered:
        """`deliver`; a customer-service row the window refused goes again as its template.
        Returns what became of the message: the template copy's outcome when one went."""
        status = await self.deliver(outbox_id)
        counts[status.value] += 1
        if status is not DeliveryStatus.OUTSIDE_WINDOW:
            return Delivered(status, outbox_id)
        return await self.fallback(outbox_id, counts)

    async def fallback(self, outbox_id: int, counts: Counter[str]) -> Delivered:
        """A customer-service row the window refused: its template, as a row of its own."""
        status = DeliveryStatus.OUTSIDE_WINDOW
        row = await OutboxMessage.get(id=outbox_id)
        fallback = decode(row.payload).fallback
        if fallback is None:
            log.info("outbox %s: window closed and no template for %r", row.id, row.kind)
            return Delivered(status, outbox_id)
        copy_id = await record_template_copy(
            key=template_copy_key(row.idempotency_key),
            openid=row.openid,
            member_id=row.member_id,
            kind=row.kind,
            fallback=fallback,
            now=self.clock.now(),
        )
        if copy_id is None:
            return Delivered(DeliveryStatus.DUPLICATE, outbox_id)
        copied = await self.deliver(copy_id)
        counts[f"template_{copied.value}"] += 1
        return Delivered(copied, copy_id)

    async def deliver_ids(self, ids: Sequence[int]) -> Counter[str]:
        """Deliver a chunk of rows, each once, holding what quiet hours hold."""
        counts: Counter[str] = Counter()
        now = self.clock.now()
        later = self.rules.quiet.next_allowed(now)
        wanted = [int(i) for i in ids]
        if later != now:
            held = await OutboxMessage.filter(
                id__in=wanted, status=OutboxStatus.QUEUED, kind__not_in=sorted(IMMEDIATE)
            ).update(not_before=later)
            if held:
                counts["held_for_quiet_hours"] += held
            wanted = await _ids(OutboxMessage.filter(id__in=wanted, kind__in=sorted(IMMEDIATE)))
        for outbox_id in wanted:
            await self.deliver_with_fallback(outbox_id, counts)
        return counts

    async def send_due(self) -> Counter[str]:
        """Deliver every row due now, in id order, chunk by chunk (embedded mode's sender)."""
        counts: Counter[str] = Counter()
        now = self.clock.now()
        requeued, unknown = await settle_abandoned(now, max_attempts=self.max_attempts)
        counts["requeued"] += requeued
        counts["outcome_unknown"] += unknown
        counts += Counter()  # drops the zero counts
        last = 0
        while ids := await due_ids(now, after_id=last):
            counts += await self.deliver_ids(ids)
            last = ids[-1]
        return counts

    async def _failed(
        self, row: OutboxMessage, failed: SendFailed, now: datetime, *, quiet: bool = False
    ) -> Delivered:
        decision = after_failure(
            failed.failure,
            guarantee(row.channel.value),
            attempts=row.attempts,
            first_attempt_at=row.first_attempt_at,
            now=now,
            maybe_sent=row.maybe_sent,
            maybe_sent_at=row.maybe_sent_at,
            max_attempts=self.max_attempts,
        )
        if not quiet:
            log.warning(
                "outbox %s (%s, %s): %s -> %s",
                row.id,
                row.kind,
                row.channel.value,
                failed,
                decision.outcome.value,
            )
        await _record(row, decision, failed.detail)
        if failed.failure is Failure.UNREACHABLE:
            # Marked whatever the row came to: an earlier unanswered attempt may have reached
            # the member (outcome unknown), but nothing reaches them now.
            members = (
                Member.filter(id=row.member_id)
                if row.member_id is not None
                else with_openid(row.openid)
            )
            await members.update(unreachable_at=now, unreachable_reason=failed.detail[:64])
        quota = failed.failure is Failure.QUOTA
        return Delivered(_STATUS[decision.outcome], row.id, quota_answer=quota)

    async def _not_claimed(self, outbox_id: int) -> DeliveryStatus:
        row = await OutboxMessage.get_or_none(id=outbox_id)
        if row is None:
            return DeliveryStatus.DUPLICATE  # rolled back after it was handed over
        if row.status is OutboxStatus.QUEUED:
            if row.attempts >= self.max_attempts:
                return DeliveryStatus.FAILED
            return DeliveryStatus.RETRY_LATER  # not due yet (quiet hours, back-off)
        return DeliveryStatus.DUPLICATE


def _status_of(outcome: Outcome) -> OutboxStatus:
    """The row's status for an outcome: queued for a retry, skipped when never sent by choice
    (ours or the member's), else failed (a quota, a refusal, an outcome unknown)."""
    if outcome is Outcome.RETRY:
        return OutboxStatus.QUEUED
    if outcome in (Outcome.OUTSIDE_WINDOW, Outcome.UNREACHABLE, Outcome.REFUSED_BY_RULES):
        return OutboxStatus.SKIPPED
    return OutboxStatus.FAILED


async def _record(row: OutboxMessage, decision: Decision, detail: str, **fields: Any) -> None:
    outcome = decision.outcome
    status = _status_of(outcome)
    error = f"{OUTCOME_UNKNOWN}; {detail}" if outcome is Outcome.OUTCOME_UNKNOWN else detail
    # Once unanswered, for good: the next attempt's answer does not say what became of this one;
    # and the first unanswered attempt's time stays (WeChat may have had it since).
    maybe_sent = row.maybe_sent or decision.maybe_sent
    await _settle(
        row,
        status,
        outcome,
        error,
        not_before=decision.retry_at,
        maybe_sent=maybe_sent,
        maybe_sent_at=row.maybe_sent_at or decision.maybe_sent_at,
        **fields,
    )


async def _settle(
    row: OutboxMessage,
    status: OutboxStatus,
    outcome: Outcome,
    error: str | None,
    **fields: Any,
) -> None:
    # Only the claimant (status still `sending`) may write the outcome.
    await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENDING).update(
        status=status,
        outcome=outcome.value,
        last_error=None if error is None else error[:255],
        **fields,
    )


@dataclass(frozen=True)
class Withdrawn:
    """Rows taken back (`withdraw`): never sent, and those that may have been."""

    skipped: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    """An attempt went unanswered: outcome unknown, not to be sent another way."""


async def withdraw(ids: Sequence[int], reason: str, now: datetime) -> Withdrawn:
    """Take rows back that are not to be sent after all (still queued, or waiting for a daily
    quota to come back), saying why (a row a sender has claimed meanwhile is left to it). A
    campaign does this when WeChat says the template quota is spent (45009: those members go by
    its mass send instead) and when it is cancelled. Never sent, a row is skipped; one an
    attempt of which went unanswered is outcome unknown (`outcomes.withdrawn`)."""
    if not ids:
        return Withdrawn()
    p = Params(dialect())
    at, why = p.add(now), p.add(reason[:255])
    unknown_why = p.add(f"{OUTCOME_UNKNOWN}; not sent again: {reason}"[:255])
    sent, never = withdrawn(True), withdrawn(False)
    wanted = p.one_of("id", [int(i) for i in ids], "bigint")
    sql = f"""
UPDATE outbox_message
SET status = CASE WHEN maybe_sent THEN '{_status_of(sent).value}'
                  ELSE '{_status_of(never).value}' END,
    outcome = CASE WHEN maybe_sent THEN '{sent.value}' ELSE '{never.value}' END,
    last_error = CASE WHEN maybe_sent THEN {unknown_why} ELSE {why} END, updated_at = {at}
WHERE {wanted} AND (status = 'queued' OR (status = 'failed' AND outcome = 'quota'))
RETURNING id, maybe_sent
"""  # noqa: S608 (constant fragments, values bound)
    found = await rows(sql, p.values)
    return Withdrawn(
        skipped=[int(r["id"]) for r in found if not r["maybe_sent"]],
        unknown=[int(r["id"]) for r in found if r["maybe_sent"]],
    )


async def settle_abandoned(
    now: datetime, lease: timedelta = SENDING_LEASE, *, max_attempts: int = MAX_ATTEMPTS
) -> tuple[int, int]:
    """Rows left `sending` past their lease: a template row inside WeChat's de-duplication
    window, with an attempt left, back to the queue (its attempt remembered as unanswered);
    any other failed, outcome unknown. Returns (requeued, unknown)."""
    stale = Q(status=OutboxStatus.SENDING, updated_at__lte=now - lease)
    # Claimed, but its sender stopped before stamping the first attempt, which it does before
    # sending: it never went, whatever its channel.
    never_went = await OutboxMessage.filter(stale, first_attempt_at__isnull=True).update(
        status=OutboxStatus.QUEUED, outcome=Outcome.RETRY.value, updated_at=now
    )
    # It may have gone: sent again under the same id, WeChat shows it once. A template's window
    # is counted from its first unanswered attempt, kept if an earlier one went unanswered; the
    # start of this one is not kept, so without it from the first attempt, never later
    # (`outcomes.unanswered_since`; the same then when the row is claimed again).
    covered = repeatable_after(now)
    again = await OutboxMessage.filter(
        stale,
        Q(channel=OutboxChannel.MASS)
        | Q(channel=OutboxChannel.TEMPLATE, maybe_sent_at__gt=covered)
        | Q(
            channel=OutboxChannel.TEMPLATE, maybe_sent_at__isnull=True, first_attempt_at__gt=covered
        ),
        attempts__lt=max_attempts,
    ).update(
        status=OutboxStatus.QUEUED, outcome=Outcome.RETRY.value, maybe_sent=True, updated_at=now
    )
    requeued = never_went + again
    ids = await _ids(OutboxMessage.filter(stale).order_by("id").limit(1000))
    if not ids:
        return int(requeued), 0
    # Conditional on `sending` still: a sender answering at this moment keeps its outcome.
    settled = await OutboxMessage.filter(id__in=ids, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.FAILED,
        outcome=Outcome.OUTCOME_UNKNOWN.value,
        maybe_sent=True,
        last_error=f"{OUTCOME_UNKNOWN}; its sender stopped while sending",
        updated_at=now,
    )
    if settled:
        shown = ", ".join(str(i) for i in ids[:20]) + (", ..." if len(ids) > 20 else "")
        log.warning(
            "%d outbox row(s) left sending for over %s settled as failed, outcome unknown "
            "(not resent; check with the member if it matters): %s",
            settled,
            lease,
            shown,
        )
    return int(requeued), int(settled)


async def due_ids(now: datetime, *, limit: int = CHUNK, after_id: int = 0) -> list[int]:
    """Queued rows due at `now`, in id order, after `after_id` (not a campaign's: `swept`)."""
    return await _ids(
        OutboxMessage.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            swept(),
            status=OutboxStatus.QUEUED,
            id__gt=after_id,
        )
        .order_by("id")
        .limit(limit)
    )


async def _ids(query: Any) -> list[int]:
    found: list[Any] = await query.values_list("id", flat=True)
    return [int(i) for i in found]
