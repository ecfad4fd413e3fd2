"""The OpenAPI document describes every staff route, with schemas and bearer security."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from openapi_spec_validator import validate

from bot.staff_api import API_VERSION, endpoints
from bot.staff_api.openapi import build_document, name_tier_codes
from tests.bot.test_staff_api_support import Client

ROUTE_PARAM = re.compile(r"{(\w+)(:[^}]*)?}")


def _registered(app: web.Application) -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        # "*": a fixed path's answer to any other method (405, `endpoint.register`).
        if path.startswith("/api/v1") and route.method not in ("HEAD", "*"):
            routes.add((route.method.lower(), ROUTE_PARAM.sub(r"{\1}", path)))
    return routes


def _resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/components/schemas/"), ref
    schema: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


async def test_every_v1_route_is_in_the_document(client: Client) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    registered = _registered(client.app)
    assert registered, "no /api/v1 routes registered"
    assert registered == documented


async def test_operations_carry_schemas_security_and_errors(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert doc["security"] == [{"bearer": []}]
    error = doc["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    operation_ids = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            operation_ids.add(op["operationId"])
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["in"] == "path" and p["name"] == name for p in op["parameters"])
            ok = [s for s in op["responses"] if s.startswith("2") and s != "202"]
            assert len(ok) == 1, (method, path)
            if "202" in op["responses"]:  # work going on (the 80/20 report ranking a period)
                accepted = op["responses"]["202"]
                assert set(accepted["headers"]) == {"Retry-After"}, (method, path)
                ref = accepted["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/RankingPendingOut")
            answer = op["responses"][ok[0]]["content"]
            if "application/json" not in answer:  # a download: rows as CSV
                assert answer == {"text/csv": {"schema": {"type": "string"}}}
            else:
                schema = answer["application/json"]["schema"]
                assert _resolve(doc, schema["$ref"])["type"] == "object"
                if "text/csv" in answer:  # a report: the same rows with ?format=csv
                    assert answer["text/csv"]["schema"]["type"] == "string"
            assert {"401", "403"} <= set(op["responses"])
            for status, response in op["responses"].items():
                if not status.startswith("2"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorResponse")
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = content["application/json"]["schema"]
                assert _resolve(doc, body["$ref"])["type"] == "object"
                # 413: a body over the app's limit (schemathesis found it undocumented).
                assert {"400", "413", "422"} <= set(op["responses"]), (method, path)
            elif "text/csv" in content:
                assert content["text/csv"]["schema"] == {"type": "string"}
                assert {"400", "413", "415", "422"} <= set(op["responses"])
            else:
                # Only actions named by their path take no body (close, reopen, qrcode, ...).
                assert method in ("get", "post"), (method, path)
    assert len(operation_ids) == sum(len(ops) for ops in doc["paths"].values())


async def test_member_lookup_documents_its_query_and_masked_phone(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    op = doc["paths"]["/api/v1/members"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in op["parameters"]] == [
        ("openid", "query", False),
        ("phone", "query", False),
        ("number", "query", False),
    ]
    assert "masked" in op["parameters"][1]["description"]
    member = _resolve(doc, op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert "masked" in member["properties"]["phone"]["description"]


async def test_document_needs_no_token(client: Client) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"


async def test_document_is_valid_openapi_3_1(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    validate(doc)


async def test_tier_code_fields_list_the_programme_tiers(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    prop = doc["components"]["schemas"]["RewardIn"]["properties"]["min_tier"]
    [text] = [option for option in prop["anyOf"] if option.get("type") == "string"]
    assert text["enum"] == ["taste", "silver", "gold", "black"]


async def test_reward_creation_documents_its_ref_and_the_conflict(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    operation = doc["paths"]["/api/v1/rewards"]["post"]
    assert "409" in operation["responses"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    ref_field = _resolve(doc, body["$ref"])["properties"]["ref"]
    assert "idempotency key" in ref_field["description"]


async def test_text_path_parameters_document_their_pattern(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    [param] = doc["paths"]["/api/v1/stores/{store_id}"]["get"]["parameters"][:1]
    assert param["name"] == "store_id"
    assert param["schema"] == {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}


def test_naming_the_tier_codes_leaves_the_shared_document_as_it_was() -> None:
    # Every app of a process starts from one document, built once: naming one programme's
    # codes must not show in the next app's.
    document = build_document(endpoints(), version=API_VERSION)
    before = json.dumps(document, sort_keys=True)
    named = name_tier_codes(document, ["taste", "gold"])
    assert json.dumps(document, sort_keys=True) == before
    tier = named["components"]["schemas"]["TierFloorIn"]["properties"]["tier"]
    assert [o.get("enum") for o in tier["anyOf"]] == [["taste", "gold"], None]
    again = name_tier_codes(document, ["silver"])["components"]["schemas"]["RewardIn"]
    assert again != named["components"]["schemas"]["RewardIn"]
