"""The shared resources of a process, built in one place for the web server, the scheduler and
the queue worker: the programme (loaded once), the store, the database, the HTTP session, the
WeChat client, the sender, the outbox and the feed to the sending workers.

With REDIS_URL the outbox hands due rows to the taskiq queue workers; without it (the embedded
default, one process) they are delivered in the background of this process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot import keys
from bot.deps import Deps
from bot.kv import Redis, open_store
from bot.metrics import Metrics
from bot.pacing import RedisPacer
from bot.queue import (
    CampaignFeeder,
    Feeder,
    InProcessCampaignFeed,
    InProcessFeed,
    build_broker,
)
from bot.wechat.account import account_tools
from bot.wechat.api import account_client, api_timeout
from bot.wechat.sender import DryRunMassSender, DryRunSender, WeChatMassSender, WeChatSender
from club.campaigns.context import CampaignContext
from club.clock import Clock, SystemClock
from club.db.migrate import open_database
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox, hand_overs_done
from club.messaging.plan import delivery_rules
from club.messaging.sending import MassSender, Sender
from club.programme.source import load_programme
from club.reports.ranker import Ranker
from config import Settings


@asynccontextmanager
async def open_resources(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Redis | None = None,
    create_schema: bool | None = None,
    broker: Any = None,
) -> AsyncIterator[Deps]:
    """Everything a process shares, open for the block. `store` may be injected (tests share
    one fake between apps); `broker`: a taskiq broker the caller has already built (the queue
    worker registers its task on it), else one is built when REDIS_URL is set."""
    clock = clock or SystemClock(settings.tz)
    keys.use_prefix(settings.redis_prefix)  # before any key or the queue's stream is named
    programme = load_programme(settings.club_config)  # a bad CLUB_CONFIG stops start-up
    kv = store if store is not None else open_store(settings)
    own_broker = broker is None and settings.redis_url is not None
    if own_broker and settings.redis_url is not None:
        broker = build_broker(settings.redis_url)
    try:
        async with (
            open_database(
                settings.database_url,
                timezone=settings.club_tz,
                embedded=settings.embedded,
                create_schema=create_schema,
                replica_url=settings.database_replica_url,
            ),
            aiohttp.ClientSession(timeout=api_timeout(settings)) as http,
        ):
            metrics = Metrics()
            wechat = account_client(settings, http=http, store=kv, metrics=metrics)
            sender: Sender = DryRunSender() if settings.dry_run else WeChatSender(wechat)
            delivery = Delivery(sender, delivery_rules(programme), clock)
            outbox = Outbox(programme, None)
            mass: MassSender = DryRunMassSender() if settings.dry_run else WeChatMassSender(wechat)
            campaigns = CampaignContext(programme, clock, outbox, delivery, RedisPacer(kv), mass)
            if broker is not None:
                if own_broker:
                    await broker.startup()
                outbox.feed = Feeder(broker)
                campaigns.feed = CampaignFeeder(broker)
                drain = _nothing
            else:
                in_process = InProcessFeed(delivery)
                in_campaigns = InProcessCampaignFeed()
                in_campaigns.context = campaigns
                outbox.feed = in_process
                campaigns.feed = in_campaigns

                async def drain() -> None:
                    await in_campaigns.drain()
                    await in_process.drain()

            ranker = Ranker()
            try:
                yield Deps(
                    settings=settings,
                    clock=clock,
                    store=kv,
                    http=http,
                    metrics=metrics,
                    wechat=wechat,
                    account=account_tools(wechat),
                    programme=programme,
                    outbox=outbox,
                    delivery=delivery,
                    drain=drain,
                    campaigns=campaigns,
                    ranker=ranker,
                )
                await drain()
            finally:
                await ranker.close()
                await hand_overs_done()  # before the broker they go through is shut
                if own_broker:
                    await broker.shutdown()
    finally:
        if store is None:
            await kv.aclose()


async def _nothing() -> None:
    return None
