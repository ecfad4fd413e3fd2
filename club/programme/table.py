"""A TOML table as the programme loader reads it: values by name, each error naming its dotted
key (`tiers[2].threshold_fen: ...`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from club.rules.programme import ProgrammeError

if TYPE_CHECKING:
    from club.rules.programme import TierLadder


class Table:
    """A TOML table with the dotted path it came from, for error messages."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, default: Any = ...) -> Any:
        if name not in self.data:
            if default is ...:
                raise ProgrammeError(f"{self.key(name)}: missing")
            return default
        return self.data[name]

    def table(self, name: str) -> Table:
        value = self.raw(name)
        if not isinstance(value, Mapping):
            raise ProgrammeError(f"{self.key(name)}: expected a table")
        return Table(value, self.key(name))

    def tables(self, name: str) -> list[Table]:
        value = self.raw(name)
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ProgrammeError(f"{self.key(name)}: expected an array of tables ([[{name}]])")
        return [Table(v, f"{self.key(name)}[{i}]") for i, v in enumerate(value)]

    def string(self, name: str, default: str | None = None) -> str:
        value = self.raw(name, ... if default is None else default)
        if not isinstance(value, str) or not value.strip():
            raise ProgrammeError(f"{self.key(name)}: expected a non-empty string")
        return value

    def integer(
        self, name: str, *, low: int = 0, high: int | None = None, default: Any = ...
    ) -> int:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgrammeError(f"{self.key(name)}: expected an integer, got {value!r}")
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise ProgrammeError(f"{self.key(name)}: {value} is out of range ({bound})")
        return value

    def clock_time(self, name: str) -> time:
        value = self.string(name)
        try:
            hours, minutes = value.split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            raise ProgrammeError(f"{self.key(name)}: expected HH:MM, got {value!r}") from None

    def decimal(self, name: str) -> Decimal:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ProgrammeError(f"{self.key(name)}: expected a number, got {value!r}")
        try:
            # str() first: a TOML float 1.2 must become exactly Decimal("1.2").
            number = Decimal(str(value))
        except InvalidOperation:
            raise ProgrammeError(f"{self.key(name)}: expected a number, got {value!r}") from None
        if not number.is_finite() or number <= 0:
            raise ProgrammeError(f"{self.key(name)}: must be a positive number")
        return number

    def per_tier(self, name: str, tiers: TierLadder, *, required: bool) -> dict[str, Any]:
        table = self.table(name) if required or name in self.data else Table({}, self.key(name))
        unknown = sorted(set(table.data) - set(tiers.codes))
        if unknown:
            raise ProgrammeError(f"{table.key(unknown[0])}: not a tier code")
        missing = [code for code in tiers.codes if code not in table.data]
        if required and missing:
            raise ProgrammeError(f"{table.key(missing[0])}: missing (one entry per tier)")
        return dict(table.data)
