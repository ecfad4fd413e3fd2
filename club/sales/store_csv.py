"""Reading a store list from CSV: every line checked before anything is written.

The file has a header naming its columns, in any order: `id`, `name`, `channel_level` and
optionally `region`. A spreadsheet's export is welcome as it is: a UTF-8 byte-order mark, CRLF line
ends, Chinese level names (`重点客户`) and blank lines are all accepted. The first bad line stops
the import with an error naming the line (as a spreadsheet numbers it, the header being line 1)
and the column, so nothing is half imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from club.rules.channels import STORE_ID, ChannelLevel, level_choices, parse_level

REQUIRED = ("id", "name", "channel_level")
OPTIONAL = ("region",)
MAX_ROWS = 20_000
MAX_NAME = 128
MAX_REGION = 64


@dataclass(frozen=True)
class StoreRow:
    line: int
    id: str
    name: str
    channel_level: ChannelLevel
    region: str | None


class StoreCsvError(ValueError):
    """A line (or the header) that cannot be imported; `line` and `column` say where."""

    def __init__(self, line: int, column: str | None, problem: str) -> None:
        where = f"line {line}" + (f": {column}" if column else "")
        super().__init__(f"{where}: {problem}")
        self.line = line
        self.column = column


def _one_line(text: str) -> bool:
    return not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def _header(names: list[str]) -> dict[str, int]:
    columns = [name.strip().lower() for name in names]
    for i, name in enumerate(columns):
        if name not in REQUIRED + OPTIONAL:
            allowed = ", ".join(REQUIRED + OPTIONAL)
            raise StoreCsvError(1, None, f"unknown column {names[i]!r} (columns: {allowed})")
        if columns.index(name) != i:
            raise StoreCsvError(1, None, f"column {name!r} appears twice")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise StoreCsvError(1, None, f"missing column {missing[0]!r}")
    return {name: i for i, name in enumerate(columns)}


def _row(line: int, cells: list[str], at: dict[str, int]) -> StoreRow:
    if len(cells) != len(at):
        raise StoreCsvError(line, None, f"{len(cells)} cells, the header has {len(at)}")
    value = {name: cells[i].strip() for name, i in at.items()}
    for name, text in value.items():
        if not _one_line(text):
            raise StoreCsvError(line, name, "control characters (tab, line break) are not allowed")
    if not STORE_ID.match(value["id"]):
        raise StoreCsvError(line, "id", f"{value['id']!r} is not 1-32 letters, digits, '_' or '-'")
    if not value["name"] or len(value["name"]) > MAX_NAME:
        raise StoreCsvError(line, "name", f"must be 1-{MAX_NAME} characters")
    level = parse_level(value["channel_level"])
    if level is None:
        raise StoreCsvError(
            line, "channel_level", f"{value['channel_level']!r} is not one of {level_choices()}"
        )
    region = value.get("region") or None
    if region is not None and len(region) > MAX_REGION:
        raise StoreCsvError(line, "region", f"must be at most {MAX_REGION} characters")
    return StoreRow(line, value["id"], value["name"], level, region)


def parse_store_csv(text: str) -> list[StoreRow]:
    """Every store of the file, in file order; StoreCsvError at the first bad line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise StoreCsvError(1, None, "the file is empty: a header line is needed")
        at = _header(header)
        rows: list[StoreRow] = []
        seen: dict[str, int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row = _row(line, cells, at)
            if row.id in seen:
                raise StoreCsvError(line, "id", f"{row.id!r} is already on line {seen[row.id]}")
            seen[row.id] = line
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise StoreCsvError(line, None, f"more than {MAX_ROWS} stores in one file")
    except csv.Error as exc:
        raise StoreCsvError(reader.line_num, None, f"not valid CSV: {exc}") from None
    if not rows:
        raise StoreCsvError(2, None, "no stores below the header")
    return rows
