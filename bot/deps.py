"""What the running service hands to its parts: one typed container, built by `bot.app`.

Kept small and explicit (STYLE.md: no injection by parameter name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import aiohttp

    from bot.kv import Redis
    from bot.metrics import Metrics
    from bot.outbox import Outbox
    from bot.wechat.api import WeChatAPI
    from club.clock import Clock
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
    outbox: Outbox
    programme: Programme
    """The club programme (CLUB_CONFIG or the built-in demo), loaded once at start-up."""


DEPS = web.AppKey("deps", Deps)
