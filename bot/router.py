"""Routing a member's message to one handler.

One `Router` per handler module, handlers registered by decorator; `handlers/__init__.py` lists
the routers in order and the `Dispatcher` walks them in four passes, so the order of precedence
never depends on the order of imports:

0. while staff hold the member's conversation (an open service ticket), every message the
   member sends (`@router.held()`), events excepted;
1. cancel words (`@router.cancel(...)`) and words answered in any state without ending the
   dialog (`@router.anytime(...)`: `English`, `中文`);
2. dialog-state handlers (`@router.state(...)`) for the member's current state;
3. everything else (text words, regexes, events, clicks, scans, message types);
4. fallbacks (`@router.fallback()`).

Within a pass, routers are tried in list order and a router's handlers in registration order.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Literal

from bot.messages import Incoming, normalise
from bot.replies import Reply

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.fsm import Dialog
    from club.members.contact import Contact

Lang = Literal["zh", "en"]


@dataclass
class Context:
    """Everything a handler gets. Handlers return a Reply, or None for a bare `success`."""

    message: Incoming
    now: datetime
    lang: Lang
    state: Dialog
    deps: Deps
    member: Contact
    match: re.Match[str] | None = None
    """For `@router.regex(...)` handlers: the match."""

    @property
    def text(self) -> str:
        """The message text, stripped (empty for non-text messages)."""
        return (self.message.content or "").strip()


HandlerFunc = Callable[[Context], Awaitable[Reply | None]]
Test = Callable[[Incoming], "bool | re.Match[str] | None"]


class Stage(IntEnum):
    HELD = -1
    CANCEL = 0
    STATE = 1
    DEFAULT = 2
    FALLBACK = 3


@dataclass(frozen=True)
class Handler:
    func: HandlerFunc
    stage: Stage
    test: Test
    states: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


def _is_text(message: Incoming) -> bool:
    return message.msg_type == "text" and message.content is not None


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[Handler] = []

    def _add(
        self, stage: Stage, test: Test, states: frozenset[str] = frozenset()
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        def register(func: HandlerFunc) -> HandlerFunc:
            self.handlers.append(Handler(func=func, stage=stage, test=test, states=states))
            return func

        return register

    # Text -------------------------------------------------------------------------------
    def text(self, *words: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Exact words (Chinese or English; English case-insensitive, full-width folded)."""
        wanted = frozenset(normalise(w) for w in words)
        if not wanted:
            raise ValueError("text() needs at least one word")
        return self._add(Stage.DEFAULT, lambda m: m.words in wanted)

    def regex(
        self, pattern: str | re.Pattern[str], flags: int = 0
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """A regular expression searched in the stripped text; the match is `ctx.match`."""
        compiled = re.compile(pattern, flags) if isinstance(pattern, str) else pattern

        def test(message: Incoming) -> re.Match[str] | None:
            plain = message.plain_text
            return None if plain is None else compiled.search(plain)

        return self._add(Stage.DEFAULT, test)

    def held(self) -> Callable[[HandlerFunc], HandlerFunc]:
        """Every message the member sends while an open service ticket holds their
        conversation (not events: a follow, an unfollow, a click still go their usual way)."""
        return self._add(Stage.HELD, lambda m: not m.is_event)

    def cancel(self, *words: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Words that end any dialog: checked before every other handler."""
        wanted = frozenset(normalise(w) for w in words)
        return self._add(Stage.CANCEL, lambda m: m.words in wanted)

    def anytime(self, *words: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Words answered in any dialog state, before its steps; the handler decides whether
        the dialog goes on (a language switch keeps it)."""
        return self.cancel(*words)

    def text_where(self, test: Callable[[str], bool]) -> Callable[[HandlerFunc], HandlerFunc]:
        """Text for which `test(stripped text)` is true (a shape no word list can give)."""

        def matches(message: Incoming) -> bool:
            plain = message.plain_text
            return plain is not None and test(plain)

        return self._add(Stage.DEFAULT, matches)

    def state(
        self, *states: str, any_message: bool = False
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """A dialog step: runs when the member is in one of `states` and sends text (or, with
        `any_message`, anything at all)."""
        if not states:
            raise ValueError("state() needs at least one state name")
        return self._add(Stage.STATE, lambda m: any_message or _is_text(m), frozenset(states))

    # Events -------------------------------------------------------------------------------
    def event(self, *names: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Events by name, case-insensitive: subscribe, unsubscribe, SCAN, LOCATION, ..."""
        wanted = frozenset(n.lower() for n in names)
        return self._add(Stage.DEFAULT, lambda m: m.is_event and m.event in wanted)

    def click(self, *keys: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Menu CLICK events by key."""
        wanted = frozenset(keys)
        return self._add(
            Stage.DEFAULT, lambda m: m.event == "click" and (m.event_key or "") in wanted
        )

    def view(self) -> Callable[[HandlerFunc], HandlerFunc]:
        """Menu VIEW events (a link was opened; any answer is not shown to the member)."""
        return self.event("view")

    def location(self) -> Callable[[HandlerFunc], HandlerFunc]:
        """LOCATION reports (the account asked members for their location)."""
        return self.event("location")

    def scan(self, prefix: str = "") -> Callable[[HandlerFunc], HandlerFunc]:
        """A follower scanned a parametric QR code (SCAN), optionally only scenes with `prefix`."""
        return self._add(
            Stage.DEFAULT,
            lambda m: m.event == "scan" and (m.scene or "").startswith(prefix),
        )

    def scan_waitmsg(self) -> Callable[[HandlerFunc], HandlerFunc]:
        """The menu's scan button that waits for our answer (scancode_waitmsg)."""
        return self.event("scancode_waitmsg")

    def message(self, *msg_types: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Non-event messages by type: image, voice, video, location, link, ..."""
        wanted = frozenset(t.lower() for t in msg_types)
        return self._add(Stage.DEFAULT, lambda m: not m.is_event and m.msg_type in wanted)

    def fallback(self) -> Callable[[HandlerFunc], HandlerFunc]:
        """Anything nothing else took (text only: unknown events and media get `success`)."""
        return self._add(Stage.FALLBACK, _is_text)


@dataclass(frozen=True)
class Route:
    handler: Handler
    match: re.Match[str] | None


Texts = Callable[..., str]
"""The chat's texts: `texts(key, lang, **values)` (`handlers.texts.t`); the transport needs
"busy" and "error" for the answers it gives itself."""


class Dispatcher:
    def __init__(self, routers: list[Router] | tuple[Router, ...]) -> None:
        names = [r.name for r in routers]
        if len(set(names)) != len(names):
            raise ValueError(f"router names must be unique: {names}")
        self.routers = tuple(routers)
        self._ordered = sorted(
            (h for r in self.routers for h in r.handlers), key=lambda h: h.stage
        )  # sorted() is stable: router and registration order survive within a stage

    def resolve(self, message: Incoming, state: str | None, *, held: bool = False) -> Route | None:
        for handler in self._ordered:
            if handler.stage is Stage.HELD and not held:
                continue
            if handler.stage is Stage.STATE and (state is None or state not in handler.states):
                continue
            result = handler.test(message)
            if result:
                return Route(handler, result if isinstance(result, re.Match) else None)
        return None

    async def dispatch(self, ctx: Context) -> Reply | None:
        route = self.resolve(ctx.message, ctx.state.current, held=ctx.member.ticket_id is not None)
        if route is None:
            return None
        ctx.match = route.match
        return await route.handler.func(ctx)
