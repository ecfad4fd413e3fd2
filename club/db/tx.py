"""Transactions that can run something after they commit.

An outbox row written inside a transaction must reach the sending workers only once the
transaction has committed: handed over before, a worker may look for a row that is not there
yet (or never will be, after a rollback). Tortoise has no commit hook, so code that writes
outbox rows inside a transaction opens it with `transaction()` instead of tortoise's
`in_transaction()`, and the outbox registers its hand-over with `after_commit`. Nested uses join
the outermost transaction (tortoise makes them savepoints); the hooks run when the outermost one
commits, and are dropped when it rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

Hook = Callable[[], Awaitable[None]]

_hooks: ContextVar[list[Hook] | None] = ContextVar("clubbot_after_commit", default=None)


@asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """`in_transaction()` whose `after_commit` hooks run once the outermost one commits."""
    if _hooks.get() is not None:
        async with in_transaction() as conn:
            yield conn
        return
    hooks: list[Hook] = []
    token = _hooks.set(hooks)
    try:
        async with in_transaction() as conn:
            yield conn
    finally:
        _hooks.reset(token)
    for hook in hooks:  # reached only when the block (and the commit) succeeded
        await hook()


def after_commit(hook: Hook) -> bool:
    """Run `hook` after the current `transaction()` commits; False outside one."""
    hooks = _hooks.get()
    if hooks is None:
        return False
    hooks.append(hook)
    return True


def in_untracked_transaction() -> bool:
    """Inside a tortoise transaction that was not opened with `transaction()`."""
    return _hooks.get() is None and isinstance(connections.get("default"), TransactionalDBClient)


class _RollBack(Exception):
    """Raised at the end of a dry run so that its transaction rolls back."""


@asynccontextmanager
async def rolled_back() -> AsyncIterator[Any]:
    """A transaction that is always rolled back: everything written inside it is undone (a dry
    run). Hooks registered inside it are dropped; code that writes outbox rows inside it must
    be given an outbox without a feed, so that nothing is handed over either."""
    token = _hooks.set([])
    try:
        async with in_transaction() as conn:
            yield conn
            raise _RollBack
    except _RollBack:
        pass
    finally:
        _hooks.reset(token)
