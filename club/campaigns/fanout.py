"""One chunk of a run's recipients, handled by a queue worker: planned, awarded, recorded, sent.

A chunk is taken 50 recipients at a time. Each batch is one transaction: the recipients are
claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers given the same chunk share it
instead of doubling it), each member's channel is planned (`club.messaging.plan`: customer
service while the window allows, else a template while the day's quota lasts, else the run's
mass send; or left out with the reason), bonus points are reserved from the budget for those
planned a message (`club.campaigns.bonus`: credited only once it has gone), the outbox rows are
written (key `campaign:<id>:<member>`: a member is messaged once whatever is retried) and the
recipients marked. Then the batch's rows are sent at the campaign's pace
(`club.messaging.pacing`, shared by every worker), `SEND_CONCURRENCY` at a time; after each group
of sends is recorded, the bonus of the batch's members whose message is at rest is settled:
credited to those it went to (or may have), given back for those it never will.

Before every `SEND_CONCURRENCY`-th send the worker reads the campaign's status again (one read
by primary key, shared by the sends in flight: 0.6-1.8 ms on this VM): paused, the
batch's other rows go back to the queue and wait, sent by nothing but this chunk (the outbox
sweeps leave a campaign's rows alone), until the chunk is handed on after the resume;
cancelled, they are withdrawn (`club.campaigns.unsent`). So at most `SEND_CONCURRENCY`
messages per worker start after staff press pause or cancel. Quiet hours stop it the same way
(the scheduler hands the chunk on again when they end). Between batches the worker also marks
the chunk alive, so that the scheduler can tell a chunk whose worker died.

When WeChat answers 45009 (the template quota is spent) the day is marked spent, the template
rows not yet sent are withdrawn and their members go by the mass send instead: one refusal, not
one per member. A row an earlier attempt of which went unanswered ends outcome unknown on that
answer, or when withdrawn (it may have reached the member: `club.messaging.outcomes`), and goes
no other way; so does one withdrawn because the campaign was cancelled.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from club.campaigns import bonus, quota
from club.campaigns import message as msg
from club.campaigns.budget import reserve_awards
from club.campaigns.context import CampaignContext
from club.campaigns.unsent import CANCELLED, ToSend, of_chunk, take_back
from club.campaigns.watch import SEND_CONCURRENCY, Watch, may_send
from club.db import tx
from club.db.models.campaigns import Campaign, CampaignChunk, CampaignRecipient, CampaignRun
from club.db.models.members import Member
from club.db.models.outbox import OutboxMessage
from club.db.raw import dialect, native, rows
from club.messaging.batch_delivery import deliver_many
from club.messaging.delivery import Delivered, DeliveryStatus
from club.messaging.keys import outbox_key
from club.messaging.kinds import Kind
from club.messaging.outbox import MEMBER_FIELDS, Letter
from club.messaging.plan import Channel, Planner
from club.rules.campaigns import CampaignStatus, RecipientState, RunStatus

log = logging.getLogger(__name__)

BATCH = 50
QUOTA_SPENT = "template quota spent (45009): goes by the mass send instead"

_CLAIM = """
SELECT id, member_id FROM campaign_recipient
WHERE run_id = $1 AND chunk = $2 AND state = 'pending'
ORDER BY id LIMIT $3
"""
_MARK = (
    "UPDATE campaign_recipient SET state = $1, outbox_id = $2, reason = $3, bonus_reserved = $4 "
    "WHERE id = $5"
)


@dataclass
class Prepared:
    to_send: list[ToSend] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


async def run_chunk(ctx: CampaignContext, run_id: int, number: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    while True:
        run = await CampaignRun.get_or_none(id=run_id)
        if run is None or run.status is not RunStatus.SENDING:
            counts["run_not_sending"] += 1
            break
        campaign = await Campaign.get(id=run.campaign_id)
        if not may_send(campaign):
            counts[f"campaign_{campaign.status.value}"] += 1
            break
        now = ctx.clock.now()
        if ctx.rules.quiet.next_allowed(now) != now:
            counts["held_for_quiet_hours"] += 1
            break
        await CampaignChunk.filter(run_id=run_id, number=number).update(beat_at=now)
        prepared = await prepare(ctx, campaign, run, number, now)
        if prepared is None:
            if await _finish_chunk(ctx, campaign, run_id, number, counts):
                await CampaignChunk.filter(run_id=run_id, number=number).update(done_at=now)
            break
        counts += prepared.counts
        await send(ctx, campaign, prepared.to_send, counts)
    return counts


async def _finish_chunk(
    ctx: CampaignContext, campaign: Campaign, run_id: int, number: int, counts: Counter[str]
) -> bool:
    """Nobody is pending: send the chunk's rows left queued (by a pause, quiet hours, a worker
    that died, or a retry after a busy answer); done when none is left queued or being sent (a
    row left `sending` by a dead worker is settled by the scheduler after its lease, and the
    chunk handed on again then)."""
    left = await of_chunk(run_id, number)
    queued = [u.item for u in left if u.queued]
    if queued:
        counts["left_by_a_worker"] += len(queued)
        await send(ctx, campaign, queued, counts)
    return len(queued) == len(left) and not await of_chunk(run_id, number)


async def _claim(run_id: int, number: int, conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
    sql = _CLAIM + (" FOR UPDATE SKIP LOCKED" if dialect(conn) == "postgres" else "")
    return await rows(sql, [run_id, number, BATCH], conn)


async def prepare(
    ctx: CampaignContext, campaign: Campaign, run: CampaignRun, number: int, now: datetime
) -> Prepared | None:
    """Plan, award and record the next batch of the chunk (one transaction); None when the
    chunk has nobody pending."""
    programme = ctx.programme
    message = msg.from_json(campaign.message)
    say = msg.say(message, campaign.name, programme, now)
    has_template = message.template is not None or programme.template_for("campaign") is not None
    planner = Planner(ctx.outbox.rules, now)
    done = Prepared()
    async with tx.transaction() as conn:
        claimed = await _claim(run.id, number, conn)
        if not claimed:
            return None
        recipient_of = {int(r["member_id"]): int(r["id"]) for r in claimed}
        members = (
            await Member.filter(id__in=list(recipient_of)).using_db(conn).values(*MEMBER_FIELDS)
        )
        batch = await ctx.outbox.batch(members, now)
        routes: list[tuple[dict[str, Any], Channel | None, str | None]] = []
        for row in members:
            plan = planner.plan(batch.contact(row), Kind.CAMPAIGN, has_template=True)
            routes.append((row, plan.channel, plan.reason))
        wanted = sum(1 for _, channel, _ in routes if channel is Channel.TEMPLATE)
        templates = (
            await quota.reserve(wanted, now.date(), programme.campaigns.template_daily_quota, conn)
            if has_template
            else 0
        )
        letters: list[Letter] = []
        marks: dict[int, list[Any]] = {}
        for row, channel, why in routes:
            recipient = recipient_of[int(row["id"])]
            if channel is Channel.CUSTOM or (channel is Channel.TEMPLATE and templates > 0):
                if channel is Channel.TEMPLATE:
                    templates -= 1
                letters.append(
                    batch.letter(row, say, outbox_key("campaign", campaign.id, row["id"]))
                )
                marks[recipient] = [RecipientState.MESSAGED.value, None, None, 0]
                done.counts[f"planned_{channel.value}"] += 1
            elif channel is Channel.TEMPLATE:
                reason = "window closed" + (
                    ", template quota used up" if has_template else ", no template"
                )
                marks[recipient] = [RecipientState.MASS.value, None, reason, 0]
                done.counts["planned_mass"] += 1
            else:
                marks[recipient] = [RecipientState.SKIPPED.value, None, why, 0]
                done.counts[f"skipped_{why}"] += 1
        for member_id in set(recipient_of) - {int(row["id"]) for row in members}:
            marks[recipient_of[member_id]] = [RecipientState.SKIPPED.value, None, "deleted", 0]
        inserted = await batch.record(letters, hand_over=False)
        ids = {row.idempotency_key: row.id for row in inserted}
        for letter in letters:
            recipient = recipient_of[int(letter.recipient.member_id or 0)]
            outbox_id = ids.get(letter.key)
            if outbox_id is None:
                continue  # written before (cannot happen for a claimed recipient; kept safe)
            marks[recipient][1] = outbox_id
            channel = Channel.TEMPLATE if letter.envelope.is_template else Channel.CUSTOM
            done.to_send.append(ToSend(recipient, outbox_id, channel))
        await _reserve(campaign, recipient_of, marks, conn)
        await conn.execute_many(
            native(_MARK, dialect(conn)), [[*mark, rid] for rid, mark in marks.items()]
        )
    return done


async def _reserve(
    campaign: Campaign,
    recipient_of: dict[int, int],
    marks: dict[int, list[Any]],
    conn: BaseDBAsyncClient,
) -> None:
    """Bonus points reserved for the batch's messaged and mass recipients while the budget
    lasts; credited once their message has gone (`club.campaigns.bonus`)."""
    if campaign.bonus_points <= 0:
        return
    reached = {RecipientState.MESSAGED.value, RecipientState.MASS.value}
    eligible = [
        (member_id, rid) for member_id, rid in recipient_of.items() if marks[rid][0] in reached
    ]
    granted = await reserve_awards(campaign.id, len(eligible), campaign.bonus_points, conn)
    for _, rid in sorted(eligible)[:granted]:
        marks[rid][3] = campaign.bonus_points


async def send(
    ctx: CampaignContext, campaign: Campaign, items: Sequence[ToSend], counts: Counter[str]
) -> None:
    """Send the batch's rows at the campaign's pace, a few at a time, while the campaign still
    sends (`Watch`: paused or in quiet hours the rest wait, queued; cancelled they are
    withdrawn). Template rows held by a spent quota (45009, now or earlier today) are withdrawn
    and their members go by the mass send. The bonus of the members whose message came to rest
    is settled after each group of sends, and once more when a cancel withdrew the rest
    (`club.campaigns.bonus`; the scheduler's tick settles whatever is left)."""
    rate = float(campaign.pace or ctx.programme.campaigns.max_per_second)
    pace_key = f"campaign:{campaign.id}"
    now = ctx.clock.now()
    _, spent = await quota.status(now.date())
    by_outbox = {item.outbox_id: item for item in items}
    held = [i for i in items if spent and i.channel is Channel.TEMPLATE]
    await _to_mass(held, now, counts)

    async def pace(count: int) -> list[float]:
        return await ctx.pacer.slots(pace_key, rate, count)

    async def settle() -> None:
        if campaign.bonus_points <= 0:
            return
        recipients = [i.recipient_id for i in items]
        try:
            await bonus.settle(
                campaign, ctx.clock.now(), ctx.programme.expiry, recipients=recipients
            )
        except Exception:
            # The sends go on (and the batch's withdrawals, the quota, the mass send after
            # them): the reservations stay, and the scheduler's tick settles them.
            log.exception(
                "campaign %s: bonus not settled after sending; left to the tick", campaign.id
            )

    watch = Watch(ctx, campaign)
    results = await deliver_many(
        ctx.delivery,
        [i.outbox_id for i in items if i not in held],
        counts,
        pace=pace,
        concurrency=SEND_CONCURRENCY,
        go_on=watch,
        recorded=settle,
    )
    if watch.stopped is not None:
        rest = [by_outbox[r.outbox_id] for r in results if r.status is DeliveryStatus.NOT_SENT]
        await _stop(watch.stopped, rest, ctx.clock.now(), counts)
    now = ctx.clock.now()
    if any(r.quota_spent for r in results):
        await quota.mark_spent(now.date(), now)
    # Those waiting for the quota go by the mass send; one that ended outcome unknown (an
    # earlier attempt went unanswered: it may have reached the member) goes no other way, nor
    # does one waiting for the quota after such an attempt (`_to_mass`).
    refused = [r for r in results if r.status is DeliveryStatus.QUOTA]
    for result in refused:
        known = by_outbox.get(result.outbox_id)
        item = known or ToSend(await _recipient_of(result), result.outbox_id, Channel.TEMPLATE)
        await _to_mass([item], now, counts)
    if watch.stopped == CampaignStatus.CANCELLED.value:
        await settle()  # the bonus of those withdrawn goes back to the budget at once


async def _stop(why: str, rest: Sequence[ToSend], now: datetime, counts: Counter[str]) -> None:
    """The rows not sent when the campaign stopped: withdrawn if it was cancelled, else left
    queued for the chunk to send after the resume (or the quiet hours)."""
    if why == CampaignStatus.CANCELLED.value:
        taken = await take_back(rest, RecipientState.SKIPPED, CANCELLED, now)
        counts["withdrawn_cancelled"] += taken.moved
        if taken.unknown:
            counts["withdrawn_outcome_unknown"] += taken.unknown
    else:
        counts[f"waiting_{why}"] += len(rest)


async def _recipient_of(result: Delivered) -> int:
    """The recipient a template copy (sent in place of a refused customer-service row) is for."""
    copy = await OutboxMessage.get(id=result.outbox_id)
    original = await OutboxMessage.get_or_none(
        idempotency_key=copy.idempotency_key.removesuffix(":template")
    )
    found = None if original is None else await CampaignRecipient.get_or_none(outbox_id=original.id)
    return 0 if found is None else found.id


async def _to_mass(items: Sequence[ToSend], now: datetime, counts: Counter[str]) -> None:
    """Template rows the spent quota holds: their members go by the mass send, but for a row
    that may have gone already (outcome unknown, its member left messaged: `take_back`)."""
    taken = await take_back(items, RecipientState.MASS, QUOTA_SPENT, now)
    counts["template_quota_spent"] += taken.moved
    if taken.unknown:
        counts["template_outcome_unknown"] += taken.unknown
