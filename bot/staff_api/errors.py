"""Every answer under /api that is not a success has one shape: `{"error": {code, message}}`.

Views raise `ApiError`; the middleware turns it (and aiohttp's own 404/405/413, and anything
unexpected) into that shape, so a client never has to parse an HTML error page. A failure
explained by the database or the store being out of reach is a 503 with `Retry-After`, not a
500 (`bot.unavailable`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.jsontext import json_response
from bot.limits import ClientGone
from bot.unavailable import RETRY_AFTER_S, Part, Unavailable, part_down

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[str] | None = None
    """For invalid input: the names of the offending fields (dotted paths)."""


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, fields: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields) if fields is not None else None
        self.headers: Mapping[str, str] = {}

    def response(self) -> web.Response:
        body = ErrorResponse(
            error=ErrorDetail(code=self.code, message=self.message, fields=self.fields)
        )
        return json_response(
            body.model_dump(mode="json", exclude_none=True),
            status=self.status,
            headers=dict(self.headers),
        )


def _loc(error: ErrorDetails, prefix: str, whole: str) -> str:
    parts = [str(p) for p in error["loc"]]
    if prefix:
        parts.insert(0, prefix)
    return ".".join(parts) or whole


def invalid_input(exc: ValidationError, *, where: str = "", whole: str = "body") -> ApiError:
    """422 naming each bad field; a body that is not JSON at all is a 400. `whole` names what a
    rule about several fields at once is about (the body, or the query)."""
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return ApiError(400, "malformed_json", "the request body is not valid JSON")
    fields = [_loc(e, where, whole) for e in errors]
    message = "; ".join(f"{_loc(e, where, whole)}: {e['msg']}" for e in errors)
    return ApiError(422, "invalid", message, fields=fields)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except ClientGone:
        raise  # handled outside (bot.limits): one log line, no answer to give
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 404 else f"no such route: {request.path}"
        error = ApiError(exc.status, code, message)
        response = error.response()
        # 405 must keep its Allow header.
        allow: Any = exc.headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    except Exception as exc:
        part = await part_down(exc)
        if part is not None:
            log.error(
                "staff API: the %s is unavailable",
                part,
                extra={"method": request.method, "path": request.path, "error": _name(exc)},
            )
            return unavailable(part).response()
        log.exception("staff API failed: %s %s", request.method, request.path)
        return ApiError(500, "internal", "internal error").response()


def unavailable(part: Part) -> ApiError:
    """503 with Retry-After: nothing was done (or, if the answer was lost, the same request
    again is safe: every write is idempotent)."""
    error = ApiError(
        503,
        f"{part}_unavailable",
        f"the {part} is unavailable; retry in {RETRY_AFTER_S} seconds with the same request",
    )
    error.headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error


def _name(exc: BaseException) -> str:
    if isinstance(exc, Unavailable):
        return exc.error
    return type(exc).__name__
