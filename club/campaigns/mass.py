"""A run's mass send by tag: the members no customer-service or template message could reach.

One queue task at a time works on it (a lease: `beat_at` on the `MassSend` row), resuming where
the last stopped:
1. Members WeChat has already sent `mass_per_month` mass messages this month are left out, with
   the reason (WeChat would drop them anyway).
2. A WeChat tag is made for the run and the members are tagged, 50 a call, at the programme's
   tagging pace, in recipient order from a watermark (a crash resumes after the last call).
3. One `message/mass/sendall` to the tag, idempotent by `clientmsgid` (a retry after a lost
   answer sends nothing twice: WeChat answers 45065); the members become `mass_sent` and are
   recorded in the outbox as sent (the weekly cap and the figures count them), and the task
   credits their bonus, reserved at fan-out (`club.campaigns.bonus`; a member the send never
   reaches, cancelled, refused or over the monthly limit, has it given back). Not answered (a
   timeout, a dropped connection: it may have gone) or answered busy, the send stays claimed
   and is made again, under the same `clientmsgid` and to the same tag, by the next task the
   scheduler hands it to after the outbox's back-off (30 s, 1, 2, 4 minutes: `retry_at`), at
   most `MAX_ATTEMPTS` times in all; 45065 then means it went, and counts as sent. A refusal
   (a bad tag, the quota) fails it, its members skipped `mass_failed`; but once an attempt may
   have reached WeChat it is never called failed: attempts used up, or refused after such an
   attempt, it ends `unknown`, its members `mass_unknown` (`club.campaigns.mass_outcome`).
4. WeChat's MASSSENDJOBFINISH event (`record_result`, from the callback) says how it went:
   total, filtered, sent, errors. Then (or a day after the last attempt without it, which is
   always so for an `unknown` send) the members are untagged and the tag deleted (an account
   has at most 100 tags; one with over 100,000 members must be emptied first); the scheduler's
   tick then closes the run (`club.campaigns.runs.finish_runs`).

Pause and cancel: the tagging stops before its next calls (the status is read again before each
round of them, and before the send). Cancelling marks a mass send not sent yet as failed
(`cancel`), and the send itself first claims the row (`sent_at`, while it is still tagging): of
a cancel and a send at the same moment exactly one wins, so nothing goes to the tag once staff
cancelled, and members a send claimed first are not skipped as cancelled. A send claimed first
that WeChat did not answer, or whose task stopped inside the WeChat call (it died: did the
message go?), is made again by the next task the scheduler hands it to, under its
`clientmsgid`, as in 3, cancelled or not (a pause or quiet hours hold it back until they end):
WeChat takes it once (45065 when it had it), and its members end recorded as sent (or
`mass_unknown`), never left waiting. A cancelled run's tag is
removed all the same, by the task in hand or the next the scheduler hands on (`needing_work`):
at once when nothing was sent, after WeChat's outcome (or a day) when the message went.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from club.campaigns import bonus
from club.campaigns import mass_outcome as outcome
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.campaigns.preview import MASS_COUNTED, month_start
from club.campaigns.watch import may_send
from club.db.models.campaigns import Campaign, CampaignRun, MassSend
from club.db.raw import execute, rows
from club.messaging.outcomes import MAX_ATTEMPTS
from club.messaging.sending import TAG_BATCH, Failure, SendFailed
from club.rules.campaigns import MassStatus, RunStatus

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
CALLS_AT_ONCE = 16
"""Tagging calls in flight together (each of 50 members), paced by the programme's rate."""
WAIT_FOR_RESULT = timedelta(days=1)
"""How long to wait for MASSSENDJOBFINISH before untagging anyway."""
CANCELLED_UNSENT = "campaign cancelled before sending"

_OVER_LIMIT = f"""
UPDATE campaign_recipient SET state = 'skipped', reason = 'mass_limit'
WHERE run_id = $1 AND state = 'mass' AND (
    SELECT COUNT(*) FROM campaign_recipient x JOIN mass_send s ON s.run_id = x.run_id
    WHERE x.member_id = campaign_recipient.member_id AND x.state {MASS_COUNTED}
      AND s.sent_at >= $2
) >= $3
"""


_NEXT = """
SELECT id, openid FROM campaign_recipient
WHERE run_id = $1 AND id > $2 AND id <= $3 AND {states}
ORDER BY id LIMIT $4
"""


async def advance_mass(ctx: CampaignContext, run_id: int) -> Counter[str]:
    """Do whatever the run's mass send needs next (the queue task's body); of a cancelled
    run, only removing its tag."""
    counts: Counter[str] = Counter()
    run = await CampaignRun.get_or_none(id=run_id)
    if run is None or run.status not in (RunStatus.MASS, RunStatus.CANCELLED):
        counts["not_mass"] += 1
        return counts
    send = await _row(run) if run.status is RunStatus.MASS else await _cancelled_row(run)
    if send is None:
        counts["nothing_to_do"] += 1
        return counts
    now = ctx.clock.now()
    taken = await MassSend.filter(
        Q(beat_at__isnull=True) | Q(beat_at__lt=now - LEASE), id=send.id
    ).update(beat_at=now)
    if not taken:
        counts["busy"] += 1
        return counts
    send = await MassSend.get(id=send.id)  # as the last task holding the lease left it
    campaign = await Campaign.get(id=run.campaign_id)
    try:
        sending = run.status is RunStatus.MASS and send.status is MassStatus.TAGGING
        if (sending or _claimed(send)) and _held(ctx, campaign, run, now):
            counts["waiting"] += 1
        elif sending:
            await _tag_and_send(ctx, campaign, run, send, counts)
        elif _claimed(send):
            # Claimed before the cancel, and WeChat did not answer (or the task stopped inside
            # its call): the send won the race, and only sending it again says whether it
            # went (claimed again: a cancel leaves a claimed send alone).
            await _send(ctx, campaign, run, send, counts)
        run = await CampaignRun.get(id=run.id)
        cancelled = run.status is RunStatus.CANCELLED
        if cancelled:  # a send begun after the cancel, or left tagging by an older version
            await cancel(run.campaign_id, ctx.clock.now())
        if campaign.bonus_points > 0:  # credited once WeChat took the send, else given back
            await bonus.settle(campaign, ctx.clock.now(), ctx.programme.expiry)
        send = await MassSend.get(id=send.id)
        if _untag_due(send, ctx.clock.now()):
            await _untag(ctx, run, send, counts)
    finally:
        await MassSend.filter(id=send.id).update(beat_at=None)
    return counts


async def _row(run: CampaignRun) -> MassSend:
    found = await MassSend.get_or_none(run_id=run.id)
    if found is not None:
        return found
    try:
        return await MassSend.create(run_id=run.id, clientmsgid=f"clubbot-campaign-run-{run.id}")
    except IntegrityError:
        return await MassSend.get(run_id=run.id)


async def _cancelled_row(run: CampaignRun) -> MassSend | None:
    """A cancelled run's mass send, if it has a tag still to remove."""
    return await MassSend.get_or_none(run_id=run.id, tag_id__isnull=False, untagged_at=None)


async def cancel(campaign_id: int, now: datetime) -> list[int]:
    """The campaign is cancelled: its mass sends not claimed for sending yet never will be
    (`_claim_send`), and their tags are removed by the next task (`needing_work`). Returns the
    runs whose send was claimed before: it goes on, and their members are not skipped."""
    await MassSend.filter(
        run__campaign_id=campaign_id, status=MassStatus.TAGGING, sent_at=None
    ).update(status=MassStatus.FAILED, result=CANCELLED_UNSENT, finished_at=now)
    going: list[Any] = await MassSend.filter(
        run__campaign_id=campaign_id, status=MassStatus.TAGGING, sent_at__isnull=False
    ).values_list("run_id", flat=True)
    return [int(r) for r in going]


def _held(ctx: CampaignContext, campaign: Campaign, run: CampaignRun, now: datetime) -> bool:
    """No tagging or send now: in quiet hours, as every campaign send (a cancelled run's send
    made again too: it won the race with the cancel, not the night), or while paused."""
    if ctx.rules.quiet.next_allowed(now) != now:
        return True
    return run.status is RunStatus.MASS and not may_send(campaign)


def _untag_due(send: MassSend, now: datetime) -> bool:
    """Its tag is to go now: the send is over, or sent (or perhaps sent: never answered) a day
    ago without WeChat's outcome (a send claimed and not known to have gone keeps its tag: it
    is sent again to it)."""
    if send.untagged_at is not None or send.tag_id is None:
        return False
    if send.status in (MassStatus.FINISHED, MassStatus.FAILED):
        return True
    sent = send.status in (MassStatus.SENT, MassStatus.UNKNOWN)
    return sent and send.sent_at is not None and send.sent_at <= now - WAIT_FOR_RESULT


def _claimed(send: MassSend) -> bool:
    """Claimed for sending (`_claim_send`) and not known to have gone: being sent, or to be
    sent again (unanswered, or its task stopped inside the call)."""
    return send.status is MassStatus.TAGGING and send.sent_at is not None


async def _tag_and_send(
    ctx: CampaignContext,
    campaign: Campaign,
    run: CampaignRun,
    send: MassSend,
    counts: Counter[str],
) -> None:
    now = ctx.clock.now()
    if _claimed(send):  # everyone is tagged: the send goes again, to the same members
        await _send(ctx, campaign, run, send, counts)
        return
    limit = ctx.programme.campaigns.mass_per_month
    counts["mass_limit"] += await execute(_OVER_LIMIT, [run.id, month_start(now), limit])
    if send.tag_id is None:
        try:
            send.tag_id = await ctx.mass.create_tag(f"clubbot-c{campaign.id}-r{run.id}")
        except SendFailed as failed:
            await outcome.failed(run, send, f"tag not made: {failed.detail}", now)
            return
        await MassSend.filter(id=send.id).update(tag_id=send.tag_id)
    while True:
        # Read again before every round of calls and before the send: paused or cancelled
        # while the last round was tagging, nothing more goes (the send above all).
        found = await Campaign.get(id=campaign.id)
        if not may_send(found):
            counts[f"stopped_{found.status.value}"] += 1
            return
        batch = await rows(
            _NEXT.format(states="state = 'mass'"),
            [run.id, send.tagged_upto, 2**62, TAG_BATCH * CALLS_AT_ONCE],
        )
        if not batch:
            break
        if not await _calls(ctx, campaign.id, ctx.mass.tag, send.tag_id, batch, counts):
            return
        send.tagged_upto = int(batch[-1]["id"])
        send.tagged += len(batch)
        await MassSend.filter(id=send.id).update(
            tagged_upto=send.tagged_upto, tagged=send.tagged, beat_at=ctx.clock.now()
        )
        counts["tagged"] += len(batch)
    await _send(ctx, campaign, run, send, counts)


async def _send(
    ctx: CampaignContext,
    campaign: Campaign,
    run: CampaignRun,
    send: MassSend,
    counts: Counter[str],
) -> None:
    now = ctx.clock.now()
    if send.tagged == 0:
        await MassSend.filter(id=send.id, status=MassStatus.TAGGING).update(
            status=MassStatus.FINISHED, result="nobody left to send to", finished_at=now
        )
        return
    if _backing_off(send, now):
        counts["retry_later"] += 1
        return
    if send.attempts >= MAX_ATTEMPTS:  # the last one's task stopped inside the call
        stopped = f"its task stopped in attempt {send.attempts}"
        counts["mass_unknown"] += await outcome.unknown(campaign, run, send, stopped, now)
        return
    maybe_sent = send.maybe_sent  # before this attempt
    if not await _claim_send(send, now):
        counts["cancelled_before_sending"] += 1
        return
    text = msg.from_json(campaign.message).mass_text()
    assert send.tag_id is not None
    try:
        receipt = await ctx.mass.send_to_tag(send.tag_id, text, clientmsgid=send.clientmsgid)
    except SendFailed as failed:
        await outcome.not_sent(campaign, run, send, failed, maybe_sent, now, counts)
        return
    counts["mass_sent"] += await outcome.sent(run, send, text, receipt, now)


async def _claim_send(send: MassSend, now: datetime) -> bool:
    """Claim the send while it is still tagging: False if the campaign was cancelled first.
    Once claimed, a cancel leaves it alone (its members are not skipped); a send not answered,
    or whose task stops before it is done, is sent again under the same `clientmsgid`. The
    attempt is counted, and may have reached WeChat until an answer says otherwise."""
    claimed = await MassSend.filter(id=send.id, status=MassStatus.TAGGING).update(
        sent_at=now, beat_at=now, attempts=F("attempts") + 1, maybe_sent=True
    )
    send.attempts += claimed
    return bool(claimed)


async def _calls(
    ctx: CampaignContext,
    campaign_id: int,
    call: Callable[[int, Sequence[str]], Awaitable[None]],
    tag_id: int,
    batch: list[dict[str, Any]],
    counts: Counter[str],
) -> bool:
    """Tag (or untag) `batch` in calls of 50, a few at once, at the tagging pace; False if a
    call failed (the watermark stays: tagging the same members again is harmless)."""
    rate = float(ctx.programme.campaigns.tag_calls_per_second)
    starts = range(0, len(batch), TAG_BATCH)
    slots = await ctx.pacer.slots(f"campaign-tags:{campaign_id}", rate, len(starts))

    async def one(start: int, slot: float) -> None:
        if slot > 0:
            await asyncio.sleep(slot)
        await call(tag_id, [str(r["openid"]) for r in batch[start : start + TAG_BATCH]])

    done = await asyncio.gather(
        *(one(start, slot) for start, slot in zip(starts, slots, strict=True)),
        return_exceptions=True,
    )
    failed = [d for d in done if isinstance(d, BaseException)]
    for exc in failed:
        if not isinstance(exc, SendFailed):
            raise exc
    if failed:
        counts["tag_calls_failed"] += len(failed)
        log.warning(
            "campaign %s: %d tag call(s) failed (%s); later", campaign_id, len(failed), failed[0]
        )
    return not failed


async def _untag(
    ctx: CampaignContext, run: CampaignRun, send: MassSend, counts: Counter[str]
) -> None:
    assert send.tag_id is not None
    states = "state IN ('mass_sent', 'mass_unknown', 'skipped')"
    while True:
        batch = await rows(
            _NEXT.format(states=states),
            [run.id, send.untagged_upto, send.tagged_upto, TAG_BATCH * CALLS_AT_ONCE],
        )
        if not batch:
            break
        if not await _calls(ctx, run.campaign_id, ctx.mass.untag, send.tag_id, batch, counts):
            return
        send.untagged_upto = int(batch[-1]["id"])
        await MassSend.filter(id=send.id).update(
            untagged_upto=send.untagged_upto, beat_at=ctx.clock.now()
        )
        counts["untagged"] += len(batch)
    try:
        await ctx.mass.delete_tag(send.tag_id)
    except SendFailed as failed:
        if failed.failure in (Failure.NOT_SENT, Failure.AMBIGUOUS):
            # Busy, or no answer: the next task asks again (a tag deleted meanwhile is then
            # refused, and that is the end of it).
            log.warning("campaign run %s: tag %s not deleted yet (%s)", run.id, send.tag_id, failed)
            counts["tag_delete_later"] += 1
            return
        log.warning("campaign run %s: tag %s not deleted (%s)", run.id, send.tag_id, failed)
    await MassSend.filter(id=send.id).update(untagged_at=ctx.clock.now())


@dataclass(frozen=True)
class MassResult:
    msg_id: int
    status: str
    total: int | None
    filtered: int | None
    sent: int | None
    errors: int | None


async def record_result(ctx: CampaignContext, result: MassResult, now: datetime) -> bool:
    """WeChat's MASSSENDJOBFINISH for one of our mass sends; False if it is not ours (or was
    recorded already). The untagging is handed to a worker."""
    send = await MassSend.get_or_none(msg_id=result.msg_id)
    if send is None:
        return False
    updated = await MassSend.filter(id=send.id, status=MassStatus.SENT).update(
        status=MassStatus.FINISHED,
        result=result.status[:64],
        total_count=result.total,
        filter_count=result.filtered,
        sent_count=result.sent,
        error_count=result.errors,
        finished_at=now,
    )
    if updated and ctx.feed is not None:
        await ctx.feed.mass(send.run_id)
    return bool(updated)


async def needing_work(now: datetime) -> list[int]:
    """Runs whose mass send a task should take up now (the scheduler's tick hands them on):
    those sending, and the cancelled ones with a tag to remove."""
    found: list[Any] = await CampaignRun.filter(status=RunStatus.MASS).values_list("id", flat=True)
    wanted = []
    for run_id in found:
        send = await MassSend.get_or_none(run_id=run_id)
        if send is not None and not _due(send, now):
            continue
        if send is None or send.status is MassStatus.TAGGING or _untag_due(send, now):
            wanted.append(int(run_id))
    for send in await MassSend.filter(
        run__status=RunStatus.CANCELLED, tag_id__isnull=False, untagged_at=None
    ):
        unsent = send.status is MassStatus.TAGGING and send.sent_at is None  # cancel() ends it
        if _due(send, now) and (unsent or _claimed(send) or _untag_due(send, now)):
            wanted.append(send.run_id)
    return wanted


def _due(send: MassSend, now: datetime) -> bool:
    """No task is on it, and it does not wait to send again."""
    busy = send.beat_at is not None and send.beat_at > now - LEASE
    return not busy and not _backing_off(send, now)


def _backing_off(send: MassSend, now: datetime) -> bool:
    """An attempt went unanswered and the next is not due yet (`_send` keeps to it too)."""
    return send.retry_at is not None and send.retry_at > now


def over(send: MassSend | None) -> bool:
    """Nothing left to do: untagged, or ended before anything was tagged."""
    if send is None:
        return False
    ended = send.status in (MassStatus.FINISHED, MassStatus.FAILED, MassStatus.UNKNOWN)
    return send.untagged_at is not None or (ended and send.tag_id is None)
