"""The route table of the staff API and the one wrapper every view runs in.

An `Endpoint` declares everything about a route once: method, path, the role permission it
needs, its request and response models, its audit action. The wrapper checks the role, parses
path, query and body with pydantic, calls the view, writes the audit row and serialises the
answer; the OpenAPI document is generated from the same table, so it cannot drift from the code.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.deps import DEPS, Deps
from bot.jsontext import json_response
from bot.limits import ClientGone, read_body
from bot.staff_api.auth import STAFF, require
from bot.staff_api.domain_errors import domain_error
from bot.staff_api.errors import ApiError, invalid_input
from bot.staff_api.schemas import MAX_ID
from bot.unavailable import Unavailable, part_down
from club.staff.accounts import Permission, StaffIdentity, record_audit

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
PATH_PARAM = re.compile(r"{(\w+)}")
MAX_AUDIT_TEXT = 200
SECRET_FIELDS = frozenset({"phone", "token", "password", "secret"})


@dataclass
class Call:
    """What a view gets: the caller, the parsed input, and the audit entry it may enrich."""

    request: web.Request
    deps: Deps
    staff: StaffIdentity
    now: datetime
    path: Mapping[str, int]
    body: BaseModel | None
    query: BaseModel | None
    target: str | None = None
    summary: dict[str, object] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    """Path parameters that are text (a store id, a voucher code), as declared by `keys`."""
    text: str | None = None
    """A `text/csv` body, decoded (endpoints that declare `csv_body`)."""

    def body_as(self, model: type[M]) -> M:
        if not isinstance(self.body, model):
            raise TypeError(f"endpoint declared no {model.__name__} body")
        return self.body

    def query_as(self, model: type[M]) -> M:
        if not isinstance(self.query, model):
            raise TypeError(f"endpoint declared no {model.__name__} query")
        return self.query


class CsvFile(BaseModel):
    """An answer that is a CSV file, its lines produced as they are sent (a large campaign's
    recipients are never held in memory at once)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    filename: str
    lines: Any
    """An async iterator of CSV text chunks (each ends with a newline)."""

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{self.filename}"',
            }
        )
        await response.prepare(request)
        async for chunk in self.lines:
            await response.write(chunk.encode("utf-8"))
        await response.write_eof()
        return response


View = Callable[[Call], Awaitable[BaseModel | web.StreamResponse]]
"""A view answers a model (sent as JSON) or, for a download such as a CSV, a response."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    view: View
    operation_id: str
    summary: str
    permission: Permission
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    errors: Mapping[int, str] = field(default_factory=dict)
    """Statuses beyond the ones every endpoint can answer (401, 403, 422), with their meaning."""
    audit: str | None = None
    """The audit action; None for reads that touch no personal data."""
    description: str = ""
    keys: Mapping[str, str] = field(default_factory=dict)
    """Path parameters that are text, each with the regular expression it must match; every
    other path parameter is a positive integer."""
    csv_body: bool = False
    """The body is a CSV file (`text/csv`, UTF-8) instead of a JSON object."""
    csv_response: bool = False
    """The answer is a CSV file: the view returns a `CsvFile` whose lines are streamed."""
    csv: bool = False
    """The view also answers `text/csv` (a report's rows with `?format=csv`)."""
    accepted: tuple[type[BaseModel], str] | None = None
    """The view may answer 202 with this model and Retry-After instead (work still going on),
    and what that means."""

    @property
    def path_params(self) -> list[str]:
        return PATH_PARAM.findall(self.path)

    @property
    def action_text(self) -> str:
        """How a refusal names what was attempted: 'may not <summary, lower-cased>'."""
        return self.summary[0].lower() + self.summary[1:]


def _parse_keys(endpoint: Endpoint, request: web.Request) -> dict[str, str]:
    return _valid_keys(endpoint, request.match_info)


def _valid_keys(endpoint: Endpoint, given: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, pattern in endpoint.keys.items():
        raw = given.get(name, "")
        if not re.fullmatch(pattern, raw):
            raise ApiError(422, "invalid", f"{name}: must match {pattern}", fields=[name])
        values[name] = raw
    return values


MAX_CSV_BYTES = 2 * 1024 * 1024
"""A CSV import may be larger than a JSON body (the app's limit): 2 MiB, some 20,000 stores."""


async def _parse_csv(request: web.Request) -> str:
    if request.content_type not in ("text/csv", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "send the file as text/csv (UTF-8)")
    try:
        raw = await request.content.read(MAX_CSV_BYTES + 1)
    except ConnectionResetError:
        raise ClientGone from None
    return decode_csv(raw)


def decode_csv(raw: bytes) -> str:
    """A CSV file's text, whoever received it (the API's body, the console's upload): at most
    `MAX_CSV_BYTES` (read one byte more to tell), not empty, UTF-8."""
    if len(raw) > MAX_CSV_BYTES:
        raise ApiError(
            413, "too_large", f"a CSV file is at most {MAX_CSV_BYTES // 2**20} MiB "
            f"({MAX_CSV_BYTES} bytes): split it"
        )  # fmt: skip
    if not raw.strip():
        raise ApiError(400, "missing_body", "a CSV body is required")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            422, "invalid", f"the file is not UTF-8 (byte {exc.start + 1}): save it as CSV UTF-8"
        ) from None


def _parse_path(endpoint: Endpoint, request: web.Request) -> dict[str, int]:
    values: dict[str, int] = {}
    for name in endpoint.path_params:
        if name in endpoint.keys:
            continue
        raw = request.match_info[name]
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
            raise ApiError(422, "invalid", f"{name}: must be a positive integer", fields=[name])
        values[name] = int(raw)
    return values


def _parse_query(endpoint: Endpoint, request: web.Request) -> BaseModel | None:
    if endpoint.query is None:
        return None
    try:
        return endpoint.query.model_validate(dict(request.query))
    except ValidationError as exc:
        raise invalid_input(exc, whole="query") from None


async def _parse_body(endpoint: Endpoint, request: web.Request) -> BaseModel | None:
    if endpoint.body is None:
        return None
    raw = await read_body(request)
    if not raw.strip():
        raise ApiError(400, "missing_body", "a JSON object body is required")
    _refuse_duplicate_keys(raw)
    try:
        return endpoint.body.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_input(exc) from None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _refuse_duplicate_keys(raw: bytes) -> None:
    """A key given twice is refused (422): JSON parsers keep the last, so
    `{"amount_fen": 100, "amount_fen": 100000000}` was recorded as a million yuan while a
    reviewer reading the body saw 100. A body that is not JSON is left to pydantic (400)."""
    try:
        json.loads(raw, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ApiError(
            422,
            "duplicate_key",
            f"{exc.key}: given more than once in the JSON body; send each key once",
            fields=[exc.key],
        ) from None
    except (ValueError, RecursionError):  # not JSON, or nested absurdly: pydantic says so
        return


def _clip(value: object) -> object:
    if isinstance(value, str) and len(value) > MAX_AUDIT_TEXT:
        return value[:MAX_AUDIT_TEXT] + "…"
    if isinstance(value, list):
        return {"count": len(value)}
    return value


def audit_summary(call: Call) -> dict[str, object]:
    """The request as the audit log keeps it: no secrets, no phone, long things shortened."""
    summary: dict[str, object] = {}
    for source in (call.query, call.body):
        if source is None:
            continue
        for key, value in source.model_dump(mode="json").items():
            if key not in SECRET_FIELDS and value is not None:
                summary[key] = _clip(value)
    summary.update(call.summary)
    return summary


async def _audit(endpoint: Endpoint, call: Call, status: int) -> None:
    if endpoint.audit is None:
        return
    try:
        member_id = call.summary.get("member_id")
        await record_audit(
            call.staff,
            action=endpoint.audit,
            target=call.target,
            status=status,
            summary=audit_summary(call),
            now=call.now,
            member_id=member_id if isinstance(member_id, int) else None,
        )
    except Exception:
        # The answer stands (the change is already committed); the failure must be seen.
        log.exception("audit row not written: %s by staff %s", endpoint.audit, call.staff.id)


Parse = Callable[[Call], Awaitable[None]]
"""Fills a call's path, query and body from wherever the request came from."""


def _name_target(endpoint: Endpoint, call: Call) -> None:
    for name, value in call.keys.items():
        call.target = f"{name.removesuffix('_id')}:{value}"
    if "id" in call.path:
        call.target = f"{endpoint.path.split('/')[3].rstrip('s')}:{call.path['id']}"


async def run(endpoint: Endpoint, call: Call, parse: Parse) -> BaseModel | web.StreamResponse:
    """What every route does, whoever calls it (the API, the staff console): the role check,
    the input, the view, the domain's refusals as `ApiError`, and the audit row, refusals too."""
    try:
        require(call.staff, endpoint.permission, endpoint.action_text)
        await parse(call)
        try:
            result = await endpoint.view(call)
        except Exception as exc:
            mapped = domain_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
    except ApiError as exc:
        call.summary.setdefault("refused", exc.code)
        await _audit(endpoint, call, exc.status)
        raise
    except ClientGone:
        raise  # nothing was done and nobody waits for an answer (bot.limits logs it)
    except web.HTTPException as exc:
        # aiohttp's own refusals, e.g. a body over the size limit (413).
        call.summary.setdefault("refused", exc.reason)
        await _audit(endpoint, call, exc.status)
        raise
    except Exception as exc:
        part = await part_down(exc)
        if part is not None:
            call.summary.setdefault("refused", f"{part}_unavailable")
            if part != "database":  # the audit row needs the database
                await _audit(endpoint, call, 503)
            raise Unavailable(part, error=type(exc).__name__) from exc
        call.summary.setdefault("refused", "internal")
        await _audit(endpoint, call, 500)
        raise
    await _audit(endpoint, call, endpoint.status)
    return result


def new_call(request: web.Request, staff: StaffIdentity) -> Call:
    deps = request.app[DEPS]
    return Call(
        request=request,
        deps=deps,
        staff=staff,
        now=deps.clock.now(),
        path={},
        body=None,
        query=None,
    )


async def invoke(
    endpoint: Endpoint,
    request: web.Request,
    staff: StaffIdentity,
    *,
    path: Mapping[str, int] | None = None,
    body: Mapping[str, object] | None = None,
    query: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
    upload: bytes | None = None,
    via: str,
) -> BaseModel:
    """Run an endpoint for another front end with input it has already read (a console form):
    the same checks, service call and audit as the API, the audit summary naming `via`.
    `upload` is the file of an endpoint that takes a CSV body (its bytes as sent)."""
    result = await invoke_any(
        endpoint, request, staff, path=path, body=body, query=query, keys=keys, upload=upload,
        via=via,
    )  # fmt: skip
    if not isinstance(result, BaseModel) or isinstance(result, CsvFile):
        raise TypeError(f"{endpoint.operation_id} answers a download, not a model")
    return result


async def invoke_any(
    endpoint: Endpoint,
    request: web.Request,
    staff: StaffIdentity,
    *,
    path: Mapping[str, int] | None = None,
    body: Mapping[str, object] | None = None,
    query: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
    upload: bytes | None = None,
    via: str,
) -> BaseModel | web.StreamResponse:
    """`invoke` for an endpoint that may answer a download (a report with `format=csv`): the
    model, or the response to send as it is (a `CsvFile` is streamed by the caller)."""
    call = new_call(request, staff)
    call.summary["via"] = via

    async def given(call: Call) -> None:
        call.path = dict(path or {})
        call.keys = _valid_keys(endpoint, keys or {})
        _name_target(endpoint, call)
        if endpoint.query is not None:
            try:
                call.query = endpoint.query.model_validate(dict(query or {}))
            except ValidationError as exc:
                raise invalid_input(exc, whole="query") from None
        if endpoint.body is not None:
            try:
                call.body = endpoint.body.model_validate(dict(body or {}))
            except ValidationError as exc:
                raise invalid_input(exc) from None
        if endpoint.csv_body:
            call.text = decode_csv(upload or b"")

    return await run(endpoint, call, given)


def wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        async def from_request(call: Call) -> None:
            call.path = _parse_path(endpoint, request)
            call.keys = _parse_keys(endpoint, request)
            _name_target(endpoint, call)
            call.query = _parse_query(endpoint, request)
            call.body = await _parse_body(endpoint, request)
            if endpoint.csv_body:
                call.text = await _parse_csv(request)

        result = await run(endpoint, new_call(request, request[STAFF]), from_request)
        if isinstance(result, CsvFile):
            return await result.stream(request)
        if isinstance(result, web.StreamResponse):
            return result
        payload: Any = result.model_dump(mode="json")
        return json_response(payload, status=endpoint.status)

    handler.__name__ = endpoint.operation_id
    return handler


def _not_allowed(allowed: list[str]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, allowed)

    return handler


def register(app: web.Application, endpoints: list[Endpoint]) -> None:
    """Each path's routes together, fixed paths before paths with parameters, and any other
    method on a fixed path answered 405 there: `GET /api/v1/segments/preview` went on to
    `GET /api/v1/segments/{id}` and was refused as a bad id (422), and OPTIONS listed that route's
    methods (found by schemathesis). aiohttp tries resources in the order they were added and
    keeps one path's routes in one resource only when they are added one after another."""
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    fixed = [path for path in by_path if not PATH_PARAM.search(path)]
    with_parameters = [path for path in by_path if PATH_PARAM.search(path)]
    for path in fixed + with_parameters:
        for endpoint in by_path[path]:
            app.router.add_route(endpoint.method, path, wrap(endpoint))
        if path in fixed:
            app.router.add_route("*", path, _not_allowed([e.method for e in by_path[path]]))
