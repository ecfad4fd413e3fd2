"""The one way into the outbox: the club says what to tell a member, this plans and records it.

`Outbox.tell` (one member) and `Outbox.batch` (many: a greeting day, a campaign) take an
announcement (`club.messaging.announcements`), read what the delivery rules need about each
member (their window, what they were sent lately), plan the channel (`club.messaging.plan`:
customer service, template, or skipped with the reason; quiet hours; the frequency cap), build
the envelope (the text in the member's language, the template the programme maps, the template
as fallback of a customer-service message) and write the rows, one statement a batch, each
idempotency key once (`club.db.outbox_bulk`). Skipped messages are rows too, with the reason, so
staff can see what was not sent and why.

Rows due now are handed to the sending workers (`feed`) as soon as they are committed: at once
when written outside a transaction, after the commit when written inside `club.db.tx.
transaction()`. Writing outbox rows inside a plain tortoise transaction is refused: nobody could
tell when to hand them over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from club.db import tx
from club.db.models.members import Member
from club.db.models.outbox import OutboxChannel, OutboxStatus
from club.db.openids import with_openid
from club.db.outbox_bulk import Inserted, NewOutboxRow, encode_payload, insert_new, insert_rows
from club.messaging.announcements import Announcement, Recipient, Say
from club.messaging.kinds import Kind
from club.messaging.message import Envelope, Template, Text, check, encode, template
from club.messaging.plan import Channel, Contact, Plan, Planner, delivery_rules
from club.messaging.window import contact_from, custom_sent, marketing_recent, since_for
from club.rules.programme import Programme

log = logging.getLogger(__name__)

HAND_OVER_WITHIN_S = 2.0
"""How long handing due rows to the queue may hold its caller (a clerk's purchase, a member's
turn). A queue that has not taken them by then (Redis frozen, a partition) gets them in the
background: when Redis answers again, or, failing within the broker's socket timeout (10 s), by
the sweep (rows due and untouched for ten minutes). Before, the caller waited those 10 s, and a
client giving up at 5 s sent the purchase again."""

_handing: set[asyncio.Task[None]] = set()
"""Hand-overs that outlived their caller's wait (kept referenced until they end)."""

Feed = Callable[[Sequence[int]], Awaitable[None]]
"""Hands the ids of committed rows that are due now to the sending workers."""

MEMBER_FIELDS = (
    "id",
    "openid",
    "name",
    "tier",
    "language",
    "status",
    "last_interaction_at",
    "last_message_at",
    "unreachable_at",
)
"""What planning and composing read of a member (`.values()` of these)."""

IMMEDIATE = frozenset({Kind.REPLY, Kind.NOTICE, Kind.TICKET})
"""Answers to the member: never held for quiet hours (a chat answer, a notice of something the
member just did, a staff member's answer to the member's request for a person)."""


@dataclass(frozen=True)
class Letter:
    """One message to record: to whom, why (its key), what, and how (its plan)."""

    key: str
    recipient: Recipient
    kind: str
    envelope: Envelope
    plan: Plan


@dataclass(frozen=True)
class _Composed:
    kind: str
    by_service: Envelope
    by_template: Envelope | None


@dataclass(frozen=True)
class Told:
    """What `tell` recorded for one member."""

    outbox_id: int | None
    """The row's id when this call wrote it and it is due now (None otherwise)."""
    plan: Plan | None
    """None: no such member, nothing recorded."""

    @property
    def sendable(self) -> bool:
        return self.plan is not None and self.plan.sendable


class Outbox:
    """Built once per process with the programme and the feed to the sending workers."""

    def __init__(self, programme: Programme, feed: Feed | None = None) -> None:
        self.programme = programme
        self.rules = delivery_rules(programme)
        self.feed = feed

    async def tell(
        self,
        say: Say,
        *,
        key: str,
        now: datetime,
        member_id: int | None = None,
        openid: str | None = None,
        hand_over: bool = True,
    ) -> Told:
        """Plan and record one message to a member (by id, or by openid); the same key again
        records nothing. `hand_over=False`: the caller delivers the row itself."""
        query = Member.filter(id=member_id) if member_id is not None else None
        if query is None:
            if not openid:
                raise ValueError("tell needs a member id or an openid")
            query = with_openid(openid)
        rows = await query.values(*MEMBER_FIELDS)
        if not rows:
            return Told(None, None)
        batch = await self.batch(rows, now)
        letter = batch.letter(rows[0], say, key)
        inserted = await batch.record([letter], hand_over=hand_over)
        due = [row.id for row in inserted if row.due]
        return Told(due[0] if due else None, letter.plan)

    async def batch(self, rows: Sequence[Mapping[str, Any]], now: datetime) -> Batch:
        """Planning for these members (`.values(*MEMBER_FIELDS)` rows) at `now`: what they were
        sent lately is read once for all of them (two queries)."""
        openids = [str(r["openid"]) for r in rows]
        sent = await custom_sent(openids, since=since_for(self.rules, now), now=now)
        marketing = await marketing_recent(openids, now=now)
        return Batch(self, now, sent, marketing)

    async def hand_over(self, ids: Sequence[int]) -> None:
        """Give due rows to the workers once committed; a failure here loses nothing (the
        workers' sweep finds due rows), so it is logged, not raised."""
        if not ids or self.feed is None:
            return
        feed = self.feed
        wanted = list(ids)

        async def give() -> None:
            task = asyncio.create_task(_hand(feed, wanted))
            _, late = await asyncio.wait({task}, timeout=HAND_OVER_WITHIN_S)
            if late:  # goes on without the caller; a short freeze still delivers at once
                _handing.add(task)
                task.add_done_callback(_handing.discard)

        if tx.after_commit(give):
            return
        if tx.in_untracked_transaction():
            raise RuntimeError(
                "outbox rows written inside a transaction must use club.db.tx.transaction(), "
                "so that they are handed over when it commits"
            )
        await give()


async def hand_overs_done() -> None:
    """Wait for the hand-overs still going after their callers moved on (each ends within the
    broker's socket timeout): a process stopping, `python -m scheduler run` at the end of its
    job, hands its rows over instead of leaving them to the sweep's ten minutes."""
    while _handing:
        await asyncio.gather(*list(_handing), return_exceptions=True)


async def _hand(feed: Feed, ids: list[int]) -> None:
    """A failure here loses nothing (the workers' sweep finds due rows): logged, not raised."""
    try:
        await feed(ids)
    except Exception:
        log.warning("could not hand %d outbox row(s) over; the sweep will", len(ids))


class Batch:
    """Letters to many members at one `now`: plans and envelopes shared where they can be."""

    def __init__(
        self,
        outbox: Outbox,
        now: datetime,
        sent: Mapping[str, tuple[datetime, ...]],
        marketing: Mapping[str, int],
    ) -> None:
        self.outbox = outbox
        self.now = now
        self._sent = sent
        self._marketing = marketing
        self._planner = Planner(outbox.rules, now)
        self._payloads: dict[int, str] = {}
        self._composed: dict[tuple[object, ...], _Composed] = {}

    def contact(self, row: Mapping[str, Any]) -> Contact:
        return contact_from(row, self._sent, self._marketing)

    def letter(self, row: Mapping[str, Any], say: Say, key: str) -> Letter:
        """Compose and plan one member's message."""
        recipient = Recipient(
            member_id=row["id"],
            openid=str(row["openid"]),
            language=str(row["language"]),
            name=row["name"],
            tier=row["tier"],
        )
        # Keyed by the Say itself (not its id): the memo keeps it alive, so a new one made later
        # can never be mistaken for it.
        memo = (say, recipient.lang, recipient.tier, recipient.name if say.personal else 0)
        composed = self._composed.get(memo)
        if composed is None:
            composed = self._composed[memo] = self._compose(say(recipient))
        plan = self._planner.plan(
            self.contact(row), composed.kind, has_template=composed.by_template is not None
        )
        if plan.not_before is not None and composed.kind in IMMEDIATE:
            plan = Plan(plan.channel)  # an answer the member waits for: no quiet hours
        if plan.channel is Channel.TEMPLATE and composed.by_template is not None:
            envelope = composed.by_template
        else:
            envelope = composed.by_service
        return Letter(key, recipient, composed.kind, envelope, plan)

    def _compose(self, announcement: Announcement) -> _Composed:
        """The two envelopes an announcement can go in: customer service (carrying its
        template as fallback) and template, where the programme maps one."""
        mapping = announcement.template or self.outbox.programme.template_for(announcement.name)
        fallback = (
            template(mapping.template_id, mapping.render(announcement.values), mapping.url)
            if mapping is not None
            else None
        )
        content = announcement.content or Text(announcement.text)
        check(content)
        return _Composed(
            announcement.kind,
            Envelope(content, fallback),
            Envelope(fallback) if fallback is not None else None,
        )

    async def record(self, letters: Sequence[Letter], *, hand_over: bool = True) -> list[Inserted]:
        """Write the letters (each key at most once); returns the rows this call wrote. Those
        due now are handed to the workers once committed (unless `hand_over` is False)."""
        rows = [self._row(letter) for letter in letters]
        inserted = await insert_rows(rows, now=self.now, due_at=self.now)
        if hand_over:
            await self.outbox.hand_over([row.id for row in inserted if row.due])
        return inserted

    def _row(self, letter: Letter) -> NewOutboxRow:
        envelope = letter.envelope
        # Most members of a batch get one of a few messages, shared envelopes (the batch keeps
        # them alive, so their ids stay theirs): each is encoded once.
        payload = self._payloads.get(id(envelope))
        if payload is None:
            payload = self._payloads[id(envelope)] = encode_payload(encode(envelope))
        plan = letter.plan
        return NewOutboxRow(
            idempotency_key=letter.key,
            openid=letter.recipient.openid,
            member_id=letter.recipient.member_id,
            kind=letter.kind,
            channel=_channel(envelope),
            payload_json=payload,
            status=OutboxStatus.QUEUED if plan.sendable else OutboxStatus.SKIPPED,
            last_error=plan.skipped,
            not_before=plan.not_before,
        )


async def record_template_copy(
    *, key: str, openid: str, member_id: int | None, kind: str, fallback: Template, now: datetime
) -> int | None:
    """The template message sent in place of a customer-service row the window refused, as a
    row of its own (`key` is the original's `template_copy_key`); its id when new."""
    row = NewOutboxRow(
        idempotency_key=key,
        openid=openid,
        member_id=member_id,
        kind=kind,
        channel=OutboxChannel.TEMPLATE,
        payload_json=encode_payload(encode(Envelope(fallback))),
    )
    inserted = await insert_new([row], now=now, due_at=now)
    return inserted[0] if inserted else None


def _channel(envelope: Envelope) -> OutboxChannel:
    if isinstance(envelope.content, Template):
        return OutboxChannel.TEMPLATE
    return OutboxChannel.CUSTOM


def count_plan(counts: Counter[str], plan: Plan | None) -> None:
    """Add one message to a run's counts: `queued`, or `skipped` and `skipped_<reason>`."""
    if plan is None:
        counts["no_member"] += 1
    elif plan.sendable:
        counts["queued"] += 1
    else:
        counts["skipped"] += 1
        counts[f"skipped_{plan.reason or 'other'}"] += 1
