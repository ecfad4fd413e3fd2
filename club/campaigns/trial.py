"""A campaign sent to the staff member's own WeChat before it goes out (bound in chat with a
one-time code, `club.staff.wechat`): the same message, by the channel the rules pick for that
WeChat now (customer service right after the binding message, else the template). It is a
service notice to staff, so no cap applies; quiet hours do (it then arrives when they end)."""

from __future__ import annotations

from datetime import datetime

from club.campaigns import lifecycle
from club.campaigns import message as msg
from club.campaigns.context import CampaignContext
from club.messaging.keys import outbox_key
from club.messaging.outbox import Told
from club.staff.accounts import StaffIdentity
from club.staff.wechat import bound_openid


class NotBound(Exception):
    """The staff account has no WeChat bound (or its WeChat never wrote to the account)."""


async def send_test(
    ctx: CampaignContext, campaign_id: int, staff: StaffIdentity, now: datetime
) -> tuple[str, Told]:
    """(the openid it went to, what the outbox recorded)."""
    campaign = await lifecycle.get(campaign_id)
    openid = await bound_openid(staff.id)
    if openid is None:
        raise NotBound(
            "bind your WeChat first: POST /api/v1/me/wechat-code, then send 绑定 <code> to the "
            "Official Account"
        )
    say = msg.say(msg.from_json(campaign.message), campaign.name, ctx.programme, now, test=True)
    key = outbox_key("campaign-test", campaign.id, staff.id, int(now.timestamp()))
    told = await ctx.outbox.tell(say, key=key, now=now, openid=openid)
    if told.plan is None:
        raise NotBound("the bound WeChat is not known to the Official Account any more")
    return openid, told
