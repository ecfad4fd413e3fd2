"""Whether a campaign may send now, asked again while a batch is being sent.

A batch's rows are claimed together and sent at the campaign's pace; before every
`SEND_CONCURRENCY`-th send its status is read again (`Watch`), so a pause or a cancel stops a
worker after at most that many more sends (those already allowed by the last read).
"""

from __future__ import annotations

import asyncio

from club.campaigns.context import CampaignContext
from club.db.models.campaigns import Campaign
from club.rules.campaigns import CampaignStatus

SEND_CONCURRENCY = 8
"""Sends in flight at once per worker, and sends allowed per read of the status."""


def may_send(campaign: Campaign) -> bool:
    """A one-off campaign sends while `sending`; an automation's run while it is active."""
    return _sends_in(campaign.status, recurring=campaign.daily_at is not None)


def _sends_in(status: CampaignStatus, *, recurring: bool) -> bool:
    return status is (CampaignStatus.SCHEDULED if recurring else CampaignStatus.SENDING)


class Watch:
    """`go_on` for a batch's sends: the campaign's status is read again before every
    `SEND_CONCURRENCY`-th send (one read by primary key, shared by the sends in flight), and
    quiet hours are asked before each. Once it says stop it stays stopped; `stopped` says why
    (the status the campaign was found in, or `quiet_hours`)."""

    def __init__(self, ctx: CampaignContext, campaign: Campaign) -> None:
        self.ctx, self.campaign = ctx, campaign
        self.stopped: str | None = None
        self._allowed = 0
        self._lock = asyncio.Lock()

    async def __call__(self) -> bool:
        async with self._lock:
            if self.stopped is None and self._allowed == 0:
                self.stopped = await self._why_not()
                self._allowed = SEND_CONCURRENCY
            now = self.ctx.clock.now()
            if self.stopped is None and self.ctx.rules.quiet.next_allowed(now) != now:
                self.stopped = "quiet_hours"
            self._allowed -= 1
            return self.stopped is None

    async def _why_not(self) -> str | None:
        found = await Campaign.filter(id=self.campaign.id).first().values_list("status", flat=True)
        status = CampaignStatus.CANCELLED if found is None else CampaignStatus(str(found))
        recurring = self.campaign.daily_at is not None
        return None if _sends_in(status, recurring=recurring) else status.value
