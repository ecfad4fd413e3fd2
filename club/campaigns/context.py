"""What the campaign services need from the process: built once (`bot.resources`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from club.clock import Clock
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Pacer
from club.messaging.plan import DeliveryRules
from club.rules.programme import Programme

ChunkFeed = Callable[[int, Sequence[int]], Awaitable[None]]
"""Hands a run's chunks (by number) to the queue workers."""


@dataclass
class CampaignContext:
    programme: Programme
    clock: Clock
    outbox: Outbox
    delivery: Delivery
    pacer: Pacer
    feed: ChunkFeed | None = None
    """None: nobody sends chunks (a test drives them itself)."""

    @property
    def rules(self) -> DeliveryRules:
        return self.outbox.rules
