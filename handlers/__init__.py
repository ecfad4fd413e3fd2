"""Handlers: one module per intent, each with its own `Router`.

`routers()` lists them in order; the dispatcher tries cancel words first, then dialog steps, then
the routers' other handlers in this order, then fallbacks (see `bot.router`). A new feature module
adds its router here, before `fallback`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.router import Router


def routers() -> list[Router]:
    from handlers import cancel, fallback, help, welcome

    return [
        cancel.router,
        welcome.router,
        help.router,
        fallback.router,
    ]
