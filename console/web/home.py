"""`/console`: the dashboard for those who may read it, the member search for everyone else.

Charts first, with their numbers beside them; the campaigns in flight with their progress (read
through the campaigns API, for those who may manage campaigns), the template quota used today,
and the churn-risk and key-customer counts of the daily value jobs.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from bot.deps import DEPS
from club.campaigns import quota
from club.rules.programme import Programme
from club.staff.accounts import Permission
from console.auth.context import current_user
from console.i18n import translator
from console.queries.dashboard import dashboard
from console.queries.value import campaigns_in_flight, value_counts
from console.render import page_language, render
from console.web import charts
from console.web.campaigns import percent_done
from console.web.members import tier_label

STATUSES = ("sent", "failed", "skipped", "queued")
CHANNELS = ("custom", "template", "mass")
MAX_SHOWN = 5
"""Campaigns in flight shown on the dashboard (the campaigns page lists them all)."""


async def home(request: web.Request) -> web.StreamResponse:
    if not current_user(request).can(Permission.READ_DASHBOARD):
        raise web.HTTPSeeOther("/console/members")
    deps = request.app[DEPS]
    lang = page_language(request)
    _ = translator(lang)
    figures = await dashboard(deps.clock.now())
    programme = deps.programme
    tiers = [
        (
            tier_label(programme, t.code, lang),
            _count_tier(figures.members_by_tier, t.code, programme),
        )
        for t in programme.tiers.tiers
    ]
    channels = [(_("channel_" + c), figures.messages.get(c, {})) for c in CHANNELS]
    statuses = [(s, _("outbox_" + s)) for s in STATUSES]
    growth = [("joined", _("new_members")), ("unfollowed", _("unfollows"))]
    points = [
        ("issued", _("points_issued")),
        ("redeemed", _("points_redeemed")),
        ("expired", _("points_expired")),
    ]
    flying = []
    if current_user(request).can(Permission.MANAGE_CAMPAIGNS):
        for c in await campaigns_in_flight(MAX_SHOWN):
            flying.append({"c": c, "percent": percent_done(asdict(c.progress))})
    used, spent = await quota.status(deps.clock.now().astimezone(deps.settings.tz).date())
    return await render(
        request,
        "dashboard.html",
        {
            "flying": flying,
            "quota": programme.campaigns.template_daily_quota,
            "quota_used": used,
            "quota_spent": spent,
            "value": await value_counts(),
            "f": figures,
            "tiers": tiers,
            "members_total": sum(n for _, n in tiers),
            "channels": channels,
            "statuses": statuses,
            "growth": growth,
            "points_series": points,
            "charts": {
                "tiers": charts.tiers_pie(tiers, _),
                "growth": charts.day_lines(figures.growth, growth),
                "points": charts.day_lines(figures.points, points, bars=True),
                "messages": charts.messages_bars(channels, statuses),
            },
        },
    )


def _count_tier(counts: dict[str | None, int], code: str, programme: Programme) -> int:
    """Members without a stored tier are on the lowest one (the ladder's reading of NULL)."""
    extra = counts.get(None, 0) if code == programme.tiers.lowest.code else 0
    return counts.get(code, 0) + extra
