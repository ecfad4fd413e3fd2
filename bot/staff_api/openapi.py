"""The OpenAPI 3.1 document, generated from the endpoint table and the pydantic models.

Pydantic's JSON Schema (draft 2020-12) is what OpenAPI 3.1 uses, so the models' schemas go into
`components.schemas` unchanged; only the `$ref`s are pointed there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.limits import MAX_BODY_BYTES
from bot.staff_api.endpoint import MAX_CSV_BYTES, Endpoint
from bot.staff_api.errors import ErrorResponse
from bot.staff_api.schemas import MAX_ID

REF_TEMPLATE = "#/components/schemas/{model}"
COMMON_ERRORS = {
    401: "No token, or a token that is not valid",
    403: "The caller's role may not do this",
    503: (
        "The database or the store is out of reach: retry after `Retry-After` seconds with the "
        "same request (order ids and refs make a repeated write safe)"
    ),
}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}
INVALID = "Invalid input: the message and `fields` name what is wrong"
BAD_REQUEST = "The body is missing or not JSON"
NOT_FOUND_PATH = "No such record"


def _operation(
    endpoint: Endpoint,
    refs: Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]],
    query_schemas: dict[type[BaseModel], dict[str, Any]],
) -> dict[str, Any]:
    error_ref = {"$ref": REF_TEMPLATE.format(model=ErrorResponse.__name__)}

    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": error_ref}}}

    op: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.path.split("/")[3]],
        "x-required-permission": endpoint.permission.value,
    }
    if endpoint.description:
        op["description"] = endpoint.description
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": (
                {"type": "string", "pattern": endpoint.keys[name]}
                if name in endpoint.keys
                else {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            ),
        }
        for name in endpoint.path_params
    ]
    if endpoint.query is not None:
        schema = query_schemas[endpoint.query]
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if "description" in prop:
                param["description"] = prop["description"]
            parameters.append(param)
    if parameters:
        op["parameters"] = parameters
    if endpoint.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
        }
    if endpoint.csv_body:
        op["requestBody"] = {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    success: dict[str, Any] = (
        {"text/csv": {"schema": {"type": "string"}}}
        if endpoint.csv_response
        else {"application/json": {"schema": refs[(endpoint.response, "serialization")]}}
    )
    if endpoint.csv:
        success["text/csv"] = {
            "schema": {"type": "string", "description": "UTF-8 with a byte order mark, CRLF"}
        }
    responses: dict[str, Any] = {
        str(endpoint.status): {"description": "Success", "content": success}
    }
    if endpoint.body is not None or endpoint.csv_body:
        responses["400"] = error(BAD_REQUEST)
    if endpoint.body is not None:
        responses["413"] = error(f"The body is larger than {MAX_BODY_BYTES // 1024} KiB")
    if endpoint.csv_body:
        responses["413"] = error(f"The file is larger than {MAX_CSV_BYTES // 2**20} MiB")
        responses["415"] = error("The body is not text/csv")
    for status, description in COMMON_ERRORS.items():
        responses[str(status)] = error(description)
    responses["503"]["headers"] = RETRY_AFTER_HEADER
    if endpoint.path_params:
        responses["404"] = error(NOT_FOUND_PATH)
    if (
        endpoint.body is not None
        or endpoint.query is not None
        or endpoint.path_params
        or endpoint.csv_body
    ):
        responses["422"] = error(INVALID)
    for status, description in endpoint.errors.items():
        responses[str(status)] = error(description)
    if endpoint.accepted is not None:
        model, description = endpoint.accepted
        responses["202"] = {
            "description": description,
            "headers": RETRY_AFTER_HEADER,
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }
    op["responses"] = dict(sorted(responses.items()))
    return op


def build_document(endpoints: list[Endpoint], *, version: str) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    query_schemas: dict[type[BaseModel], dict[str, Any]] = {}
    for ep in endpoints:
        wanted.append((ep.response, "serialization"))
        if ep.accepted is not None:
            wanted.append((ep.accepted[0], "serialization"))
        if ep.body is not None:
            wanted.append((ep.body, "validation"))
        if ep.query is not None:
            query_schemas[ep.query] = ep.query.model_json_schema(ref_template=REF_TEMPLATE)
    unique = list(dict.fromkeys(wanted))
    refs, defs = models_json_schema(unique, ref_template=REF_TEMPLATE)
    schemas = dict(defs.get("$defs", {}))
    for query_schema in query_schemas.values():
        # A query parameter's enum (e.g. a channel level) is a $ref to its own definition.
        schemas.update(query_schema.pop("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, refs, query_schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "clubbot staff API",
            "version": version,
            "description": (
                "Purchases, returns, members, points, bottle codes and rewards for club staff. "
                "Money is integer fen; every error answers "
                '`{"error": {"code": ..., "message": ...}}`. Roles: `clerk` records purchases '
                "and returns and reads members (phone masked), ledgers and rewards; `marketer` "
                "also adjusts points, sets tier floors, generates bottle codes and adds "
                "rewards; `admin` may do everything and alone sees whole phone numbers. Each "
                "operation names the permission it needs in `x-required-permission`. Every "
                "POST and PUT, and every read of a member's data, is written to the audit log."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff token from `python -m bot staff add`",
                }
            },
        },
        "security": [{"bearer": []}],
    }


TIER_FIELDS = (("RewardIn", "min_tier"), ("RewardUpdateIn", "min_tier"), ("TierFloorIn", "tier"))
"""Request fields that take a tier code of the programme."""


def name_tier_codes(document: dict[str, Any], codes: Sequence[str]) -> dict[str, Any]:
    """A copy of the document whose tier-code fields list the programme's codes.

    Only the schemas it changes are copied deeply (the rest is shared with `document`, which
    every app of a process starts from): a deep copy of the whole took about 7 ms an app."""
    components = dict(document["components"])
    schemas = dict(components["schemas"])
    for model in dict.fromkeys(model for model, _ in TIER_FIELDS):
        schemas[model] = copy.deepcopy(schemas[model])
    components["schemas"] = schemas
    result = {**document, "components": components}
    for model, field_name in TIER_FIELDS:
        prop = schemas[model]["properties"][field_name]
        for option in prop.get("anyOf", [prop]):
            if option.get("type") == "string":
                option["enum"] = list(codes)
    return result
