"""A Redis script as the callback calls it, whichever runner sends it: the callback's own
connection on the real Redis (`bot.redis_lane`), a redis-py pipeline on the in-process stand-in
(`bot.pipelined`). Both queue the calls of one loop turn and send them together."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

Arg = str | bytes | int


class ScriptCaller(Protocol):
    async def call(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any: ...


class Script:
    """A script registered with a runner: its source and SHA1 (for EVALSHA, EVAL when Redis has
    lost it). Calling it queues the call with the runner."""

    def __init__(self, runner: ScriptCaller, source: str) -> None:
        self._runner = runner
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8"), usedforsecurity=False).hexdigest()

    async def __call__(self, *, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        return await self._runner.call(self, keys, args)


class ScriptRunner(Protocol):
    @property
    def batches(self) -> int:
        """Batches sent so far (for tests and benchmarks)."""
        ...

    def register(self, source: str) -> Script: ...

    async def aclose(self) -> None: ...
