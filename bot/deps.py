"""What a running process hands to its parts: one typed container, built by `bot.resources`.

Kept small and explicit (STYLE.md: no injection by parameter name).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import aiohttp

    from bot.kv import Redis
    from bot.metrics import Metrics
    from bot.wechat.account import AccountTools
    from bot.wechat.api import WeChatAPI
    from club.campaigns.context import CampaignContext
    from club.clock import Clock
    from club.messaging.delivery import Delivery
    from club.messaging.outbox import Outbox
    from club.reports.ranker import Ranker
    from club.rules.programme import Programme
    from config import Settings


@dataclass
class Deps:
    settings: Settings
    clock: Clock
    store: Redis
    http: aiohttp.ClientSession
    metrics: Metrics
    wechat: WeChatAPI
    account: AccountTools
    """The Official Account's QR codes and menu, for the staff API's views (behind ports: the
    views never choose a client)."""
    programme: Programme
    """The club programme (CLUB_CONFIG or the built-in demo), loaded once per process."""
    outbox: Outbox
    """The one way to tell a member something (plans, records, hands over to the senders)."""
    delivery: Delivery
    """The sending side: claims outbox rows and hands them to the sender."""
    drain: Callable[[], Awaitable[None]]
    """Waits for sends in flight (embedded mode's in-process sender) before shutting down."""
    campaigns: CampaignContext
    """Staff campaigns: planning, pacing and the feed of their chunks to the workers."""
    ranker: Ranker
    """The 80/20 rankings this process is making for reports (a request waits only so long)."""


DEPS = web.AppKey("deps", Deps)
