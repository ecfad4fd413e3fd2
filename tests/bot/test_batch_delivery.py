"""A batch's claims while WeChat is slow, against the fake WeChat API: rows waiting for a send
slot longer than the sending lease keep their claim (renewed), so the sweep does not settle a
live sender's rows as unknown and then see them sent anyway."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import aiohttp

from bot.kv import Redis
from bot.wechat.sender import WeChatSender
from club.clock import FixedClock
from club.db.models.outbox import OutboxMessage
from club.messaging.batch_delivery import RENEW_AFTER, deliver_many
from club.messaging.delivery import SENDING_LEASE, Delivery, settle_abandoned
from club.messaging.message import Content, Text
from club.messaging.plan import DeliveryRules
from club.messaging.sending import Receipt
from tests.bot.test_sending import SEND, make_api, queue
from tests.fakes import FakeWeChat

ROWS = 6
SLOW = SENDING_LEASE * 0.4
"""How long each send takes by the clock: the third row waits past the lease for its turn."""


class SlowWeChat:
    """The WeChat sender, taking `SLOW` by the test's clock for each send; the scheduler's
    sweep runs meanwhile, as it would during a minute of slow answers."""

    def __init__(self, sender: WeChatSender, clock: FixedClock, slow: timedelta = SLOW) -> None:
        self.sender, self.clock, self.slow = sender, clock, slow

    async def send(self, openid: str, content: Content, *, ref: str) -> Receipt:
        self.clock.advance(self.slow)
        await settle_abandoned(self.clock.now())
        return await self.sender.send(openid, content, ref=ref)


async def test_rows_waiting_for_a_slow_wechat_keep_their_claim_and_go_once(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> None:
    assert SLOW > RENEW_AFTER
    sender = SlowWeChat(WeChatSender(make_api(fake.base_url, http, store)), clock)
    delivery = Delivery(sender, DeliveryRules(), clock)
    rows = [await queue(Text(f"第{i}条"), key=f"slow:{i}") for i in range(ROWS)]
    counts: Counter[str] = Counter()
    await deliver_many(delivery, [r.id for r in rows], counts, concurrency=2)
    assert fake.count(SEND) == ROWS
    found = await OutboxMessage.all().order_by("id").values_list("status", "outcome")
    assert found == [("sent", "sent")] * ROWS
    assert counts["sent"] == ROWS


async def test_a_row_settled_by_the_sweep_while_it_waited_is_not_sent_after_all(
    db: None, fake: FakeWeChat, http: aiohttp.ClientSession, store: Redis, clock: FixedClock
) -> None:
    """Beyond what a send may take (a minute and more for one call), the sweep settles the
    rows still waiting as unknown: they are not sent after all, so none is reported unknown
    and delivered."""
    too_slow = SENDING_LEASE + timedelta(seconds=10)
    sender = SlowWeChat(WeChatSender(make_api(fake.base_url, http, store)), clock, too_slow)
    delivery = Delivery(sender, DeliveryRules(), clock)
    rows = [await queue(Text(f"第{i}条"), key=f"stuck:{i}") for i in range(ROWS)]
    await deliver_many(delivery, [r.id for r in rows], Counter(), concurrency=2)
    assert fake.count(SEND) == 2  # the two in flight when the sweep came
    found = await OutboxMessage.all().order_by("id").values_list("status", "outcome")
    assert found == [("failed", "outcome_unknown")] * ROWS
