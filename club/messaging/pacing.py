"""The pace port: one rate shared by every sender of a campaign, on every worker and host.

Pure: standard library only. `Pacer.wait(key, per_second)` returns when the caller may send its
next message under the rate named by `key`; the transport implements it with one Redis script
(`bot.pacing`), so two workers on two hosts together keep the rate, not each of them. `Unpaced`
lets everything through (tests of other things).
"""

from __future__ import annotations

from typing import Protocol


class Pacer(Protocol):
    async def wait(self, key: str, per_second: float) -> None:
        """Return once a message under `key` may go, at most `per_second` a second overall."""
        ...

    async def slots(self, key: str, per_second: float, count: int) -> list[float]:
        """Reserve `count` messages' slots at once: for each, the seconds from now until it
        may go (one round trip for a whole batch)."""
        ...


class Unpaced:
    async def wait(self, key: str, per_second: float) -> None:
        return None

    async def slots(self, key: str, per_second: float, count: int) -> list[float]:
        return [0.0] * count
