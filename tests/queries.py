"""Counting the statements the database runs (tortoise has no counter of its own): the client
class's execute methods are wrapped while the block runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tortoise import connections

_RUNS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script")


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL of every statement run meanwhile, in order."""
    client = type(connections.get("default"))
    seen: list[str] = []
    saved = {name: getattr(client, name) for name in _RUNS}

    def counting(run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(query)
            return await run(self, query, *args, **kwargs)

        return counted

    for name, run in saved.items():
        setattr(client, name, counting(run))
    try:
        yield seen
    finally:
        for name, run in saved.items():
            setattr(client, name, run)
