"""Report rows as CSV that Excel opens with Chinese intact.

Excel reads a CSV as the system's code page (GBK on Chinese Windows) unless the file starts
with a UTF-8 byte order mark; with it, names like 门店 and 金卡 survive. Lines end in CRLF as
RFC 4180 has it; empty for None, TRUE/FALSE for booleans (Excel's own words).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

BOM = "\ufeff"


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _number(value):
        # A name starting with = would run as a formula in Excel (CSV injection).
        return "'" + value
    return value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return out.getvalue().encode("utf-8")
