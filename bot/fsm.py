"""Conversation state for multi-step dialogs: a state name and a little data per member.

Storage sits behind a small abstract class; the implementation speaks the redis.asyncio API (the
real Redis or the in-process stand-in), builds its key in `bot.keys` and sets an expiry on every
write, so an abandoned dialog ends by itself. Handlers see a `Dialog` bound to one member.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import keys

if TYPE_CHECKING:
    from bot.kv import Redis

Scalar = str | int | float | bool | None
"""What dialog data may hold: JSON scalars, so every backend stores it the same way."""


@dataclass(frozen=True)
class DialogRecord:
    state: str | None = None
    data: Mapping[str, Scalar] = field(default_factory=dict)


class StateStorage(ABC):
    @abstractmethod
    async def load(self, openid: str) -> DialogRecord: ...

    @abstractmethod
    async def save(self, openid: str, record: DialogRecord) -> None: ...

    @abstractmethod
    async def delete(self, openid: str) -> None: ...


class RedisStateStorage(StateStorage):
    """One JSON value per member under `keys.state(openid)`, expiring after `ttl` seconds."""

    def __init__(self, store: Redis, *, ttl: int = keys.STATE_TTL_S) -> None:
        self._store = store
        self._ttl = ttl

    async def load(self, openid: str) -> DialogRecord:
        return self.decode(await self._store.get(keys.state(openid)))

    @staticmethod
    def decode(raw: bytes | str | None) -> DialogRecord:
        """The record stored as `raw` (a missing or unreadable value is no dialog)."""
        if raw is None:
            return DialogRecord()
        try:
            value = json.loads(raw)
            state = value.get("state")
            data = value.get("data") or {}
        except (ValueError, AttributeError):
            return DialogRecord()  # unreadable state ends the dialog rather than the member
        if not isinstance(state, str | None) or not isinstance(data, dict):
            return DialogRecord()
        return DialogRecord(state=state, data=data)

    async def save(self, openid: str, record: DialogRecord) -> None:
        if record.state is None and not record.data:
            await self.delete(openid)
            return
        value = json.dumps({"state": record.state, "data": dict(record.data)}, ensure_ascii=False)
        await self._store.set(keys.state(openid), value.encode("utf-8"), ex=self._ttl)

    async def delete(self, openid: str) -> None:
        await self._store.delete(keys.state(openid))


class Dialog:
    """One member's dialog state, loaded once per message (under the member's lock)."""

    def __init__(self, storage: StateStorage, openid: str, record: DialogRecord) -> None:
        self._storage = storage
        self._openid = openid
        self._record = record

    @classmethod
    async def load(cls, storage: StateStorage, openid: str) -> Dialog:
        return cls(storage, openid, await storage.load(openid))

    @property
    def current(self) -> str | None:
        """The state name, or None outside any dialog (no I/O: read when the message arrived)."""
        return self._record.state

    async def get(self) -> str | None:
        return self._record.state

    async def data(self) -> dict[str, Scalar]:
        return dict(self._record.data)

    async def set(self, state: str | None, **data: Scalar) -> None:
        """Enter `state`, replacing the data with `data`."""
        self._record = DialogRecord(state=state, data=dict(data))
        await self._storage.save(self._openid, self._record)

    async def update(self, **data: Scalar) -> dict[str, Scalar]:
        """Merge `data` into the data, keeping the state; returns the merged data."""
        merged = {**self._record.data, **data}
        self._record = DialogRecord(state=self._record.state, data=merged)
        await self._storage.save(self._openid, self._record)
        return dict(merged)

    async def clear(self) -> None:
        self._record = DialogRecord()
        await self._storage.delete(self._openid)
