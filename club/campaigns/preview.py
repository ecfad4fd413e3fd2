"""Before sending: how many members each channel would take and who cannot be reached, and
exactly what a member sees on each channel.

The channel split is an estimate made by one grouped query over the segment (the sending
decides per member, with the window's allowance counted from the outbox): members not active
or unreachable, over the weekly cap of marketing messages, with the window open (their last
message recent enough), and the rest, who take the day's template quota in member order and
then the mass send, where those already sent this month's mass messages are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from club.campaigns import message as msg
from club.campaigns import quota
from club.db.models.campaigns import Campaign
from club.db.raw import Params, dialect, rows
from club.messaging.announcements import Recipient
from club.messaging.kinds import MARKETING
from club.messaging.message import Envelope, Template, Text, encode, template
from club.messaging.plan import DeliveryRules
from club.rules.campaigns import BASIS
from club.rules.programme import Programme
from club.segments import service as segments


@dataclass
class ChannelPreview:
    audience: int = 0
    held_out_estimate: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    unreachable: dict[str, int] = field(default_factory=dict)
    starts_at: datetime | None = None
    """When sending would start (after quiet hours)."""
    messages: dict[str, Any] = field(default_factory=dict)
    """What a member sees: `custom`, `template`, `mass` (None where the channel has nothing)."""


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


MASS_COUNTED = "IN ('mass_sent', 'mass_unknown')"
"""The recipient states WeChat's monthly limit of mass messages counts (SQL, after a state
column): sent, and perhaps sent (WeChat never answered)."""


def _routes_sql(
    where: str, p: Params, rules: DeliveryRules, programme: Programme, now: datetime
) -> str:
    cap = rules.marketing_per_week
    capped = "FALSE"
    if cap is not None:
        kinds = p.one_of("o.kind", sorted(MARKETING))
        capped = (
            "(SELECT COUNT(*) FROM outbox_message o WHERE o.openid = m.openid AND "
            f"{kinds} AND o.created_at >= {p.add(now - timedelta(days=7))} AND "
            f"o.status IN ('queued', 'sending', 'sent')) >= {p.add(cap)}"
        )
    window_start = p.add(now + rules.window_margin - rules.window)
    mass_limited = (
        "(SELECT COUNT(*) FROM campaign_recipient r JOIN mass_send s ON s.run_id = r.run_id "
        f"WHERE r.member_id = m.id AND r.state {MASS_COUNTED} "
        f"AND s.sent_at >= {p.add(month_start(now))}) >= "
        f"{p.add(programme.campaigns.mass_per_month)}"
    )
    return f"""
SELECT route, COUNT(*) AS n FROM (
  SELECT CASE
    WHEN m.status <> 'active' THEN m.status
    WHEN m.unreachable_at IS NOT NULL THEN 'unreachable'
    WHEN {capped} THEN 'frequency_cap'
    WHEN m.last_message_at IS NOT NULL AND m.last_message_at > {window_start} THEN 'custom'
    WHEN {mass_limited} THEN 'closed_mass_limited'
    ELSE 'closed'
  END AS route
  FROM member m WHERE {where}
) routes GROUP BY route
"""


async def channel_preview(
    campaign: Campaign, programme: Programme, rules: DeliveryRules, now: datetime
) -> ChannelPreview:
    segment = await segments.get_segment(campaign.segment_id)
    p = Params(dialect())
    where = segments.condition(segment, p, programme, now)
    found = {
        str(r["route"]): int(r["n"])
        for r in await rows(_routes_sql(where, p, rules, programme, now), p.values)
    }
    message = msg.from_json(campaign.message)
    has_template = message.template is not None or programme.template_for("campaign") is not None
    used, spent = await quota.status(now.date())
    quota_left = 0 if spent else max(0, programme.campaigns.template_daily_quota - used)
    closed, limited = found.pop("closed", 0), found.pop("closed_mass_limited", 0)
    templates = min(closed + limited, quota_left) if has_template else 0
    rest = closed + limited - templates
    left_out = round(limited * rest / (closed + limited)) if rest else 0
    preview = ChannelPreview()
    preview.channels = {
        "custom": found.pop("custom", 0),
        "template": templates,
        "mass": rest - left_out,
    }
    preview.unreachable = {k: v for k, v in found.items() if v}
    if left_out:
        preview.unreachable["mass_limit"] = left_out
    preview.audience = sum(preview.channels.values()) + sum(preview.unreachable.values())
    preview.held_out_estimate = round(preview.audience * campaign.holdout_bp / BASIS)
    start = max(campaign.send_at or now, now)
    preview.starts_at = rules.quiet.next_allowed(start)
    preview.messages = shown(campaign, message, programme, now)
    return preview


def shown(
    campaign: Campaign, message: msg.CampaignMessage, programme: Programme, now: datetime
) -> dict[str, Any]:
    """Each channel's message as the outbox would send it, for a gold member named 王先生."""
    sample = Recipient(member_id=None, openid="preview", language="zh", name="王先生", tier="gold")
    announcement = msg.say(message, campaign.name, programme, now)(sample)
    custom = announcement.content or Text(announcement.text)
    mapping = announcement.template or programme.template_for("campaign")
    rendered: Template | None = (
        template(mapping.template_id, mapping.render(announcement.values), mapping.url)
        if mapping is not None
        else None
    )
    return {
        "custom": encode(Envelope(custom)),
        "template": None if rendered is None else encode(Envelope(rendered)),
        "mass": {"msgtype": "text", "text": message.mass_text()},
    }
