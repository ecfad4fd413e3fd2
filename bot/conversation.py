"""From a verified message to its answer: de-duplicate, serialise per member, dispatch, and keep
WeChat's 5-second budget.

The handler runs in its own task. If it has not finished after `settings.reply_budget_seconds`
the callback answers `success` and the task, when done, sends its reply through the outbox
(customer-service API, or the outbox row itself in dry-run). The decision is taken in one place
without an await between check and act, so a reply is never both answered and sent, nor lost.

When a handler fails because a shared part (the database, the store) is out of reach, nothing is
answered or cached: the claim on the message is given back and the callback answers 503, so
WeChat retries and the message is handled once the part is back (`bot.unavailable`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from bot import keys
from bot.dedup import Dedup
from bot.fsm import Dialog, RedisStateStorage, StateStorage
from bot.locks import MemberBusy, MemberLock
from bot.metrics import count_deliveries
from bot.replies import NewsReply, Reply, TextReply, render
from bot.router import Context, Dispatcher, Lang, Texts
from bot.turns import Turns
from bot.unavailable import Unavailable, part_down
from club.members.contact import Contact, ContactReader, record_contact
from club.members.language import reply_language
from club.messaging import announcements
from club.messaging.keys import outbox_key
from club.messaging.message import LinkCard

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.messages import Incoming

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 30.0
ACCOUNT_CONTACT = Contact(
    member_id=0, openid="", language="zh", status="account", joined=False, is_new=False
)
"""What handlers of the account's own events (`Incoming.from_account`) get as the member."""


def detect_lang(message: Incoming, language: str | None = None) -> Lang:
    """The member's `language` once their row is read; before that, the message's own."""
    return reply_language(message.plain_text, language)


def deferred(reply: Reply, now: datetime) -> announcements.Say:
    """A reply that missed the budget, as the club sends it (a news reply as a link card of its
    first article: the customer-service API shows one; its titles are the template's text)."""
    if isinstance(reply, TextReply):
        return announcements.reply(reply.content, now)
    assert isinstance(reply, NewsReply)
    first = reply.articles[0]
    card = LinkCard(first.title, first.url, first.description, first.picurl)
    return announcements.reply("\n".join(a.title for a in reply.articles), now, card)


@dataclass
class _Job:
    future: asyncio.Future[bytes | None]
    lock: MemberLock
    state_raw: bytes | None = None
    """The dialog state read with the lock, when the lock was taken before the task started."""
    deferred: bool = False
    member_id: int | None = field(default=None)
    lock_deadline: float | None = None
    """The loop time until which the member's lock is waited for (inside the reply budget)."""
    unavailable: Unavailable | None = None
    """Set when the handler failed because a shared part was out of reach (answer 503)."""
    language: str | None = None
    """The member's language, once their row was read (for an error answer)."""

    def defer_if_pending(self) -> None:
        """The budget ran out: from now on the reply goes by the outbox. Synchronous on purpose:
        the handler's task decides between answering and sending without an await in between,
        so exactly one of the two happens."""
        if not self.future.done():
            self.deferred = True
            self.future.set_result(None)


class Conversation:
    """One per process (stored on the app); shared by all requests."""

    def __init__(
        self,
        deps: Deps,
        dispatcher: Dispatcher,
        texts: Texts,
        *,
        states: StateStorage | None = None,
    ) -> None:
        self.deps = deps
        self.dispatcher = dispatcher
        self.texts = texts
        self.states = states or RedisStateStorage(deps.store)
        self.dedup = Dedup(deps.store)
        self.turns = Turns(deps.store)
        self.contacts = ContactReader()
        self._tasks: set[asyncio.Task[None]] = set()

    def _state_key(self, openid: str) -> str | None:
        return keys.state(openid) if isinstance(self.states, RedisStateStorage) else None

    async def answer(self, message: Incoming) -> bytes | None:
        """The passive reply (plaintext XML), or None for `success`."""
        metrics = self.deps.metrics
        metrics.for_kind(message.kind).messages.inc()
        key = message.dedup_key
        budget = self.deps.settings.reply_budget_seconds
        # One round trip for the common case: claim the message, take the member's lock and
        # read the dialog state.
        lock = MemberLock(self.deps.store, message.openid)
        entry = await self.turns.enter(key, lock, self._state_key(message.openid))
        state_raw = entry.state_raw
        if not entry.claimed:
            metrics.duplicates.inc()
            while True:
                outcome = await self.dedup.wait(key, patience=budget)
                if outcome is not None:
                    return outcome.body or None
                if await self.dedup.claim(key):
                    break  # the first arrival's claim vanished: this one runs it
        return await self._first(
            message,
            key,
            budget,
            _Job(future=asyncio.get_running_loop().create_future(), lock=lock, state_raw=state_raw),
        )

    async def _first(self, message: Incoming, key: str, budget: float, job: _Job) -> bytes | None:
        loop = asyncio.get_running_loop()
        # The lock wait ends inside the budget, so a busy notice is the passive reply.
        job.lock_deadline = loop.time() + keys.lock_wait(budget)
        task = asyncio.create_task(self._work(message, key, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        timer = loop.call_later(budget, job.defer_if_pending)
        try:
            body = await job.future
        finally:
            timer.cancel()
        if job.unavailable is not None:
            raise job.unavailable
        if job.deferred:
            self.deps.metrics.deferred.inc()
            log.info("reply deferred past the budget", extra={"kind": message.kind})
            await self.dedup.defer(key)
            return None
        return body

    async def _work(self, message: Incoming, key: str, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        lock = job.lock
        try:
            reply = await self._handle(message, job)
        except MemberBusy:
            reply = await self._busy_notice(message, job)
        except Exception as exc:
            part = await part_down(exc)
            if part is not None:
                await self._give_back(
                    message, key, job, Unavailable(part, error=type(exc).__name__)
                )
                return
            log.exception("handler failed", extra={"kind": message.kind})
            reply = TextReply(self.texts("error", detect_lang(message, job.language)))
        self.deps.metrics.for_kind(message.kind).handler_seconds.observe(loop.time() - started)
        try:
            if not job.deferred:
                body = None if reply is None else self._render(message, reply)
                if not job.future.done():  # done: the request went away; retries still get it
                    job.future.set_result(body)
                # One round trip: the cached answer for retries, and the member's lock.
                if lock.held:
                    if not await self.turns.leave(key, body or b"", lock):
                        log.warning("member lock expired before release")
                else:
                    await self.dedup.finish(key, body or b"")
                return
            await lock.release()
            if reply is not None:
                await self._send_deferred(message, key, reply, job.member_id)
        except Exception:
            log.exception("could not record or deliver a reply", extra={"kind": message.kind})
            if not job.future.done():
                job.future.set_result(None)
            await self._release_quietly(lock)

    async def _handle(self, message: Incoming, job: _Job) -> Reply | None:
        """Under the member's lock (released by the caller): contact, state, dispatch."""
        deps = self.deps
        storage = self.states
        raw = job.state_raw
        if not job.lock.held:
            raw = await job.lock.acquire(
                peek=self._state_key(message.openid), until=job.lock_deadline
            )
        # The state is read in the lock's round trip: only lock holders write it.
        if isinstance(storage, RedisStateStorage):
            record = storage.decode(raw)
        else:
            record = await storage.load(message.openid)
        now = deps.clock.now()
        if message.from_account:
            contact = ACCOUNT_CONTACT
        else:
            contact = await record_contact(
                message.openid,
                now=now,
                member_sent=message.member_sent,
                text=message.plain_text,
                reader=self.contacts,
            )
            job.member_id, job.language = contact.member_id, contact.language
        ctx = Context(
            message=message,
            now=now,
            lang=contact.language,
            state=Dialog(storage, message.openid, record),
            deps=deps,
            member=contact,
        )
        return await self.dispatcher.dispatch(ctx)

    async def _send_deferred(
        self, message: Incoming, key: str, reply: Reply, member_id: int | None
    ) -> None:
        """The reply that missed the budget, by the customer-service API at once (or, if the
        window has closed meanwhile, the template the programme maps for replies)."""
        deps = self.deps
        told = await deps.outbox.tell(
            deferred(reply, deps.clock.now()),
            key=outbox_key("reply", key),
            now=deps.clock.now(),
            member_id=member_id,
            openid=message.openid,
            hand_over=False,  # sent right here, not by a queue worker
        )
        if told.outbox_id is not None:
            counts: Counter[str] = Counter()
            await deps.delivery.deliver_with_fallback(told.outbox_id, counts)
            await count_deliveries(deps.store, counts)

    async def _busy_notice(self, message: Incoming, job: _Job) -> Reply | None:
        """The member's previous message still runs: tell them, at most once a minute, and
        only as the passive reply. Never by the customer-service API: that would spend the
        allowance of a member who has not written since (a Redis freeze once sent one member
        30 of them). The caller checks `job.deferred` right after, without an await between."""
        if job.deferred:
            return None
        try:
            first = await self.deps.store.set(
                keys.busy_notice(message.openid), b"1", nx=True, ex=keys.BUSY_NOTICE_TTL_S
            )
        except RedisError:
            return None  # no notice rather than one per message
        if not first or job.deferred:
            return None
        return TextReply(self.texts("busy", detect_lang(message)))

    async def _give_back(
        self, message: Incoming, key: str, job: _Job, unavailable: Unavailable
    ) -> None:
        """Nothing is cached and the claim is dropped, so WeChat's retry runs the message again;
        only then is the request answered (503)."""
        try:
            await self.turns.give_back(key, job.lock)
        except Exception as exc:  # the store may be the part that is down
            # The claim and the lock expire by themselves (DEDUP_RUNNING_TTL_S, MEMBER_LOCK_TTL_S).
            log.warning(
                "could not give the message back",
                extra={"kind": message.kind, "error": type(exc).__name__},
            )
        if job.deferred:
            # `success` has gone out already: WeChat will not retry this one.
            log.warning(
                "message not handled: the %s became unavailable after the reply budget",
                unavailable.part,
                extra={"kind": message.kind},
            )
            return
        job.unavailable = unavailable
        if not job.future.done():
            job.future.set_result(None)

    @staticmethod
    async def _release_quietly(lock: MemberLock) -> None:
        try:
            await lock.release()
        except Exception:
            log.exception("could not release a member lock")

    def _render(self, message: Incoming, reply: Reply) -> bytes:
        xml = render(
            reply,
            to_user=message.openid,
            from_user=message.account,
            create_time=int(self.deps.clock.now().timestamp()),
        )
        return xml.encode("utf-8")

    async def drain(self, within: float = DRAIN_TIMEOUT_S) -> None:
        """Let running handlers finish (and deferred replies go out) before shutting down."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def aclose(self) -> None:
        """After `drain`: close the callback's own Redis connection."""
        await self.turns.aclose()
