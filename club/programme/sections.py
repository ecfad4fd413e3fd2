"""The programme's optional sections for running a club day to day: every one has defaults, so a
programme file written before them still loads. Each error names its key, as the loader's do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from club.rules.programme import Counter, ProgrammeError

if TYPE_CHECKING:
    from club.programme.loader import _Table


def optional(root: _Table, name: str) -> _Table | None:
    return root.table(name) if name in root.data else None


def only(table: _Table, allowed: Iterable[str], what: str) -> None:
    """Refuse a key the section does not have (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(table.data) - set(allowed))
    if unknown:
        raise ProgrammeError(f"{table.key(unknown[0])}: not {what}")


def counter(root: _Table) -> Counter:
    table = optional(root, "counter")
    if table is None:
        return Counter()
    only(table, ("pending_days",), "a counter setting")
    return Counter(pending_days=table.integer("pending_days", low=1, high=365, default=30))
