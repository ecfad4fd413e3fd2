"""Members named by staff in bulk: member ids, openids or phone numbers, typed or uploaded as CSV.

Tagging members and uploading a fixed list both take such a list. Every entry must name exactly
one member we know; the first that does not is refused with where it was (`line 7`, `phones[3]`)
and nothing is written (the callers write in one transaction after this succeeds). A CSV upload
names its column in the first line (`member_id`, `openid` or `phone`; other columns are ignored),
as spreadsheets save it (UTF-8, a byte-order mark allowed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from club.db.models.members import Member, MemberStatus
from club.members.phone import InvalidPhone, mask_phone, validate_phone

MAX_ENTRIES = 100_000
_LOOKUP = 1000


class Identifier(StrEnum):
    MEMBER_ID = "member_id"
    OPENID = "openid"
    PHONE = "phone"


class BadEntry(ValueError):
    """An entry that names no member (or more than one); `where` says which entry."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass(frozen=True)
class Entry:
    where: str
    value: str


def entries(identifier: Identifier, values: Sequence[object], prefix: str = "") -> list[Entry]:
    """A JSON list's entries, named `member_ids[0]`, `openids[1]`... in messages."""
    field = f"{prefix}{identifier.value}s"
    return [Entry(f"{field}[{i}]", str(v).strip()) for i, v in enumerate(values)]


def parse_csv(text: str) -> tuple[Identifier, list[Entry]]:
    """The identifier column of an uploaded CSV and its entries, each named by its line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise BadEntry("line 1", "the file is empty") from None
    names = [h.strip().lower() for h in header]
    column = next((i for i, h in enumerate(names) if h in set(Identifier)), None)
    if column is None:
        raise BadEntry(
            "line 1",
            "the first line must name the column: member_id, openid or phone "
            f"(found: {', '.join(names) or 'nothing'})",
        )
    found: list[Entry] = []
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if column >= len(row) or not row[column].strip():
                raise BadEntry(where, f"no {names[column]} in this line")
            found.append(Entry(where, row[column].strip()))
            if len(found) > MAX_ENTRIES:
                raise BadEntry(where, f"at most {MAX_ENTRIES} members a file")
    except csv.Error as exc:
        raise BadEntry(f"line {reader.line_num}", f"not valid CSV: {exc}") from None
    if not found:
        raise BadEntry("line 2", "the file names no members")
    return Identifier(names[column]), found


async def resolve(identifier: Identifier, items: Sequence[Entry]) -> list[int]:
    """The member ids the entries name, each once, in the order first named."""
    if len(items) > MAX_ENTRIES:
        raise BadEntry(items[MAX_ENTRIES].where, f"at most {MAX_ENTRIES} members at once")
    keys = [_key(identifier, item) for item in items]
    found: dict[Any, list[int]] = {}
    column = {"member_id": "id", "openid": "openid", "phone": "phone"}[identifier.value]
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), _LOOKUP):
        chunk = distinct[start : start + _LOOKUP]
        rows: list[Any] = (
            await Member.filter(**{f"{column}__in": chunk})
            .exclude(status=MemberStatus.DELETED)
            .values_list(column, "id")
        )
        for key, member_id in rows:
            found.setdefault(key, []).append(int(member_id))
    ids: dict[int, None] = {}
    for item, key in zip(items, keys, strict=True):
        matches = found.get(key, [])
        if not matches:
            raise BadEntry(
                item.where, f"no member with {identifier.value} {_shown(identifier, key)}"
            )
        if len(matches) > 1:
            raise BadEntry(
                item.where,
                f"{len(matches)} members have phone {_shown(identifier, key)}: name them by "
                "member_id or openid",
            )
        ids[matches[0]] = None
    return list(ids)


def _key(identifier: Identifier, item: Entry) -> Any:
    value = item.value
    if identifier is Identifier.MEMBER_ID:
        if not value.isascii() or not value.isdigit() or not 0 < int(value) <= 2**62:
            raise BadEntry(item.where, f"{value[:20]!r} is not a member id")
        return int(value)
    if identifier is Identifier.PHONE:
        try:
            return validate_phone(value)
        except InvalidPhone as exc:
            raise BadEntry(item.where, f"not a mobile number ({exc.problem.value})") from None
    if not value or len(value) > 64 or not value.isascii() or not value.isprintable():
        raise BadEntry(item.where, "not an openid")
    return value


def _shown(identifier: Identifier, key: Any) -> str:
    """What a message may show: never a whole phone number."""
    return mask_phone(str(key)) if identifier is Identifier.PHONE else str(key)
