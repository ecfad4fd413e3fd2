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
    from handlers import (
        account_events,
        birthday,
        cancel,
        card,
        checkin,
        codes,
        data_rights,
        enrol,
        fallback,
        help,
        language,
        name,
        points,
        redeem,
        service,
        staff_bind,
        welcome,
    )

    return [
        cancel.router,
        language.router,
        # Dialogs (their steps run before any other handler while the member is in them).
        enrol.router,
        redeem.router,
        birthday.router,
        name.router,
        data_rights.router,
        welcome.router,
        account_events.router,
        service.router,
        help.router,
        points.router,
        card.router,
        checkin.router,
        staff_bind.router,
        # After every command word: a bottle code is recognised by its shape.
        codes.router,
        fallback.router,
    ]
