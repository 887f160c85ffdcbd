"""The OpenAPI document describes the errors the server really sends: our envelope, never FastAPI's,
under the statuses each operation can answer, named by their codes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from spikeland.core import error_codes, openapi


def _validator(document: dict[str, object], name: str) -> jsonschema_rs.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(schema)


def _errors(document: dict[str, Any], method: str, path: str) -> dict[str, str]:
    responses = document["paths"][path][method]["responses"]
    return {status: answer["description"] for status, answer in responses.items() if status[0] in "45"}


async def test_every_error_status_is_documented_as_the_envelope(app: FastAPI) -> None:
    document = app.openapi()
    assert "HTTPValidationError" not in json.dumps(document)
    assert openapi.EXTENSION not in json.dumps(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = [s for s in operation["responses"] if s[0] in "45"]
            assert {"500", "503"} <= set(statuses), (method, path)
            assert "4XX" not in statuses and "5XX" not in statuses, (method, path)
            for status in statuses:
                answer = operation["responses"][status]
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorResponse", (method, path, status)
                assert answer["description"], (method, path, status)


async def test_statuses_are_derived_from_the_route(app: FastAPI) -> None:
    document = app.openapi()
    signed_in = _errors(document, "get", "/api/v1/images")
    assert "not_authenticated" in signed_in["401"] and "404" not in signed_in and "403" not in signed_in
    anyone = _errors(document, "get", "/api/v1/images/{image_id}")
    assert "not_authenticated" not in anyone["401"] and "invalid_session" in anyone["401"]
    assert "not_found" in anyone["404"]
    admin = _errors(document, "delete", "/api/v1/admin/users/{user_id}")
    assert {"admin_required", "csrf_origin_mismatch"} <= set(admin["403"].split(", "))
    upload = _errors(document, "post", "/api/v1/images")
    assert upload["429"] == "rate_limited" and upload["413"] == "file_too_large, payload_too_large"
    assert "malformed_json" in _errors(document, "post", "/api/v1/auth/login")["400"]
    assert _errors(document, "get", "/health") == {"500": "internal_error", "503": "database_unavailable"}


async def test_declared_codes_are_real(app: FastAPI) -> None:
    """Each ``errors(code=status)`` and ``raises`` names a code the code raises with that status."""
    table = error_codes.collect()
    declared: list[tuple[str, int]] = [pair for codes in openapi._RAISES.values() for pair in codes.items()]
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            declared += list((route.openapi_extra or {}).get(openapi.EXTENSION, {}).items())
    unknown = {
        (code, status) for code, status in declared if status not in {s for s, _ in table.get(code, ())}
    }
    assert not unknown


async def test_a_real_422_and_404_match_the_documented_schema(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    validator = _validator(app.openapi(), "ErrorResponse")
    invalid = await client.post("/api/v1/auth/login", json={"email": 5})
    missing = await client.get("/api/v1/no-such-route")
    assert (invalid.status_code, missing.status_code) == (422, 404)
    for answer in (invalid, missing):
        validator.validate(answer.json())
    assert invalid.json()["error"]["code"] == "validation_error"
