"""What a run's mass send came to, recorded on the send and its members: sent, failed, outcome
unknown, or to be made again (`club.campaigns.mass` makes the attempts).

- Sent (45065 included: WeChat had it already): the members become `mass_sent`, with sent
  outbox rows (channel `mass`) that the weekly cap and the figures count.
- Not answered (a timeout, a dropped connection: it may have gone) or answered busy: made again
  as the outbox's rule says for a message WeChat de-duplicates for good (`after_failure`: the
  back-off, at most `MAX_ATTEMPTS` attempts), `retry_at` on the row.
- Refused (a bad tag, the quota, not authorised): failed, the members skipped `mass_failed`,
  unless an earlier attempt may have reached WeChat (`maybe_sent`): then, as when the attempts
  are used up, the outcome is unknown. The members become `mass_unknown`, with outbox rows
  recorded as any message of unknown outcome is (failed, `outcome_unknown`), never failed and
  never sent.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from club.campaigns import message as msg
from club.db.models.campaigns import Campaign, CampaignRecipient, CampaignRun, MassSend
from club.db.models.outbox import OutboxChannel, OutboxStatus
from club.db.outbox_bulk import encode_payload, insert_mass_rows
from club.messaging.delivery import OUTCOME_UNKNOWN
from club.messaging.kinds import Kind, guarantee
from club.messaging.outcomes import Outcome, after_failure
from club.messaging.sending import MassReceipt, SendFailed
from club.rules.campaigns import MassStatus, RecipientState

log = logging.getLogger(__name__)

_MEMBERS = (
    "SELECT member_id, openid, campaign_id FROM campaign_recipient "
    "WHERE run_id = $11 AND state = 'mass'"
)
"""The members the send went to (or may have), for their outbox rows (`insert_mass_rows`)."""


async def sent(
    run: CampaignRun, send: MassSend, text: str, receipt: MassReceipt, now: datetime
) -> int:
    """WeChat took it (45065: it had it already): its members are sent, once."""
    await insert_mass_rows(
        _MEMBERS,
        [run.id],
        key_sql=_KEY,
        kind=Kind.CAMPAIGN.value,
        payload_json=_payload(text),
        msgid=None if receipt.msg_id is None else str(receipt.msg_id),
        dry_run=receipt.dry_run,
        now=now,
        outcome=(Outcome.DRY_RUN if receipt.dry_run else Outcome.SENT).value,
    )
    moved = await CampaignRecipient.filter(run_id=run.id, state=RecipientState.MASS).update(
        state=RecipientState.MASS_SENT
    )
    finished: dict[str, Any] = {}
    if receipt.dry_run:
        finished = {"status": MassStatus.FINISHED, "result": "dry run", "finished_at": now}
    elif receipt.duplicate and receipt.msg_id is None:
        finished = {"result": "sent before (45065): its outcome event cannot be matched"}
    elif receipt.duplicate:
        finished = {"result": "sent before (45065)"}  # WeChat named the send: its event matches
    await MassSend.filter(id=send.id).update(
        **{
            "status": MassStatus.SENT,
            "msg_id": receipt.msg_id,
            "members": send.tagged,
            "sent_at": now,
            "retry_at": None,
            **finished,
        }
    )
    return moved


_KEY = "'campaign:' || r.campaign_id || ':' || r.member_id || ':mass'"


def _payload(text: str) -> str:
    return encode_payload({"msgtype": "text", "text": text, "mass": True})


async def not_sent(
    campaign: Campaign,
    run: CampaignRun,
    send: MassSend,
    error: SendFailed,
    maybe_sent: bool,
    now: datetime,
    counts: Counter[str],
) -> None:
    """WeChat did not say it took the send. The outbox's rule (a mass send is idempotent by
    its `clientmsgid`) says whether to try again and when; once it says no more, the send
    failed only if no attempt may have reached WeChat, else its outcome is unknown."""
    decision = after_failure(
        error.failure,
        guarantee(OutboxChannel.MASS.value),
        attempts=send.attempts,
        first_attempt_at=None,
        now=now,
        maybe_sent=maybe_sent,
    )
    reason = f"attempt {send.attempts}: {error.detail}"
    if decision.outcome is Outcome.RETRY:
        log.warning("campaign run %s: mass send %s; again at %s", run.id, reason, decision.retry_at)
        await MassSend.filter(id=send.id).update(
            retry_at=decision.retry_at, maybe_sent=decision.maybe_sent, result=reason[:64]
        )
        counts["mass_retry_later"] += 1
    elif decision.maybe_sent:  # no attempt left (a quota answer ends a mass send too)
        counts["mass_unknown"] += await unknown(campaign, run, send, reason, now)
    else:
        await failed(run, send, f"mass send refused: {error.detail}", now)


async def unknown(
    campaign: Campaign, run: CampaignRun, send: MassSend, reason: str, now: datetime
) -> int:
    """Every attempt ended without WeChat saying whether it took the send: its members may
    have it. They are recorded as the outbox records such a message (failed, outcome unknown:
    the weekly cap counts it), and the tag stays a day, as after a send
    (`club.campaigns.mass._untag_due`)."""
    log.warning("campaign run %s: mass send outcome unknown (%s)", run.id, reason)
    await insert_mass_rows(
        _MEMBERS,
        [run.id],
        key_sql=_KEY,
        kind=Kind.CAMPAIGN.value,
        payload_json=_payload(msg.from_json(campaign.message).mass_text()),
        msgid=None,
        dry_run=False,
        now=now,
        status=OutboxStatus.FAILED,
        outcome=Outcome.OUTCOME_UNKNOWN.value,
        last_error=f"{OUTCOME_UNKNOWN}; {reason}"[:255],
    )
    moved = await CampaignRecipient.filter(run_id=run.id, state=RecipientState.MASS).update(
        state=RecipientState.MASS_UNKNOWN
    )
    await MassSend.filter(id=send.id).update(
        status=MassStatus.UNKNOWN,
        result=f"outcome unknown: {reason}"[:64],
        members=send.tagged,
        retry_at=None,
        finished_at=now,
    )
    return moved


async def failed(run: CampaignRun, send: MassSend, reason: str, now: datetime) -> None:
    log.warning("campaign run %s: %s", run.id, reason)
    await CampaignRecipient.filter(run_id=run.id, state=RecipientState.MASS).update(
        state=RecipientState.SKIPPED, reason="mass_failed"
    )
    await MassSend.filter(id=send.id).update(
        status=MassStatus.FAILED, result=reason[:64], retry_at=None, finished_at=now
    )
