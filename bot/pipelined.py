"""Redis scripts called in the same event-loop turn go to Redis as one pipeline.

Every callback runs two scripts (`bot.turns`). redis-py spends more CPU on a command's
machinery (connection pool, retry wrapper, packing, observability hooks) than Redis spends
running it, and each call is a send and a receive of its own. Queued per loop turn
(`club.batching.TurnBatcher`) and sent as one pipeline, calls share all of that. The pipeline is
not a transaction: each script is atomic by itself, and nothing relates one member's script to
another's.

Scripts go by EVALSHA; a NOSCRIPT answer (Redis restarted or flushed its script cache) is
retried with EVAL, which caches the script again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError

from bot.scripts import Arg, Script
from club.batching import TurnBatcher

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.kv import Redis


@dataclass(frozen=True)
class _Call:
    script: Script
    keys: Sequence[Arg]
    args: Sequence[Arg]

    def command(self, by_sha: bool) -> tuple[Arg, ...]:
        head = ("EVALSHA", self.script.sha) if by_sha else ("EVAL", self.script.source)
        return (*head, len(self.keys), *self.keys, *self.args)


class PipelinedScripts:
    def __init__(self, store: Redis) -> None:
        self._store = store
        self._batcher: TurnBatcher[_Call, Any] = TurnBatcher(self._run)

    @property
    def batches(self) -> int:
        return self._batcher.batches

    def register(self, source: str) -> Script:
        return Script(self, source)

    async def aclose(self) -> None:
        """Nothing of its own to close: it borrows the store's connections."""

    async def call(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        return await self._batcher.submit(_Call(script, keys, args))

    async def _run(self, calls: list[_Call]) -> list[Any]:
        results = await self._pipeline(calls, by_sha=True)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            again = await self._pipeline([calls[i] for i in missing], by_sha=False)
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        return results

    async def _pipeline(self, calls: list[_Call], *, by_sha: bool) -> list[Any]:
        pipe = self._store.pipeline(transaction=False)
        for call in calls:
            pipe.execute_command(*call.command(by_sha))
        return list(await pipe.execute(raise_on_error=False))
