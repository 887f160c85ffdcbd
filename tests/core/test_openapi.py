"""The OpenAPI document describes the errors the server really sends: our envelope, never FastAPI's."""

from __future__ import annotations

import json

import httpx
import jsonschema_rs
from fastapi import FastAPI


def _validator(document: dict[str, object], name: str) -> jsonschema_rs.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(schema)


async def test_validation_errors_are_documented_as_the_envelope(app: FastAPI) -> None:
    document = app.openapi()
    assert "HTTPValidationError" not in json.dumps(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("4XX", "5XX", *(["422"] if "422" in operation["responses"] else [])):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorResponse", (method, path, status)


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
