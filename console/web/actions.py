"""Console forms that change something run the staff API's endpoints (`endpoint.invoke`): the
same role check, validation, club service, refusals and audit row as the API, with `via:
console` in the audit summary. This module turns form fields into the endpoint's body."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel

from bot.staff_api import endpoints
from bot.staff_api.endpoint import MAX_CSV_BYTES, CsvFile, Endpoint, invoke, invoke_any
from console.auth.context import current_user

ENDPOINTS = web.AppKey("console_endpoints", dict[str, Endpoint])
_YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")

Form = MultiDictProxy[str | bytes | object]


class FormError(ValueError):
    """A form field that cannot become the endpoint's input; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def register(app: web.Application) -> None:
    app[ENDPOINTS] = {e.operation_id: e for e in endpoints()}


async def act(
    request: web.Request,
    operation_id: str,
    body: Mapping[str, object],
    *,
    path: Mapping[str, int] | None = None,
    query: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
    upload: bytes | None = None,
) -> BaseModel:
    """Run the endpoint as the signed-in staff member. Raises `ApiError` when refused."""
    endpoint = request.app[ENDPOINTS][operation_id]
    staff = current_user(request).staff
    return await invoke(
        endpoint, request, staff, path=path, body=body, query=query, keys=keys, upload=upload,
        via="console",
    )  # fmt: skip


async def act_any(
    request: web.Request,
    operation_id: str,
    *,
    path: Mapping[str, int] | None = None,
    query: Mapping[str, str] | None = None,
) -> BaseModel | web.StreamResponse:
    """`act` for a read that may answer a download (a report as CSV, a campaign's recipients)."""
    endpoint = request.app[ENDPOINTS][operation_id]
    staff = current_user(request).staff
    return await invoke_any(endpoint, request, staff, path=path, query=query, via="console")


async def download(
    request: web.Request, found: BaseModel | web.StreamResponse
) -> web.StreamResponse:
    """Send what `act_any` answered when it is a file (a CSV streamed as it is produced)."""
    if isinstance(found, CsvFile):
        return await found.stream(request)
    if isinstance(found, web.StreamResponse):
        return found
    raise web.HTTPNotFound()


def uploaded(form: Mapping[str, object], name: str) -> bytes:
    """A file field's bytes (empty when no file was chosen), at most one byte more than an
    endpoint's CSV may have, so that the endpoint tells a file too large. (The guard read the
    form within `UPLOAD_MAX` and closes the file afterwards.)"""
    field = form.get(name)
    if not isinstance(field, web.FileField):
        return b""
    return field.file.read(MAX_CSV_BYTES + 1)


def text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def optional_text(form: Mapping[str, object], name: str) -> str | None:
    return text(form, name) or None


def integer(form: Mapping[str, object], name: str) -> int:
    raw = text(form, name).replace(",", "")
    try:
        return int(raw)
    except ValueError:
        raise FormError(name, "must be a whole number") from None


def fen(form: Mapping[str, object], name: str) -> int:
    """Yuan as typed at a till ('128', '128.5', '128.50') to integer fen, without floats."""
    raw = text(form, name).replace(",", "").removeprefix("¥")
    if not _YUAN.match(raw):
        raise FormError(name, "must be an amount in yuan, at most two decimals")
    try:
        return int(Decimal(raw) * 100)
    except InvalidOperation:
        raise FormError(name, "must be an amount in yuan") from None


def new_ref(prefix: str) -> str:
    """An idempotency key a form carries: sending the same form twice does the thing once."""
    return f"{prefix}-{secrets.token_hex(8)}"


def whole_number(raw: str | None, *, high: int = 2**63 - 1) -> int | None:
    """`raw` as a number from 1 to `high` (ASCII digits only), else None."""
    if raw is None or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= high:
        return None
    return int(raw)


def path_id(request: web.Request) -> int:
    """The `{id}` of the page's path; a page that cannot exist (404) for anything else."""
    found = whole_number(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound()
    return found
