"""JSON as people read it: Chinese as characters, not `\\u` escapes.

Every JSON answer of ours (the staff API, health, the dry-run outbox) goes through `json_response`
here; aiohttp's own uses `json.dumps` with its ASCII default. The body is UTF-8, as its
`application/json` content type says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_response(
    data: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)
