"""What the campaign services need from the process: built once (`bot.resources`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from club.clock import Clock
from club.messaging.delivery import Delivery
from club.messaging.outbox import Outbox
from club.messaging.pacing import Pacer
from club.messaging.plan import DeliveryRules
from club.messaging.sending import MassSender
from club.rules.programme import Programme


class Feed(Protocol):
    """Hands a run's work to the queue workers."""

    async def chunks(self, run_id: int, numbers: Sequence[int]) -> None:
        """Chunks of recipients (by number) to send."""
        ...

    async def mass(self, run_id: int) -> None:
        """The run's mass send: tag, send, untag."""
        ...


@dataclass
class CampaignContext:
    programme: Programme
    clock: Clock
    outbox: Outbox
    delivery: Delivery
    pacer: Pacer
    mass: MassSender
    feed: Feed | None = None
    """None: nobody sends chunks (a test drives them itself)."""

    @property
    def rules(self) -> DeliveryRules:
        return self.outbox.rules
