"""The OpenAPI document as the server really answers: every error in our envelope.

FastAPI documents each operation's 422 as its ``HTTPValidationError`` (``{"detail": [...]}``),
which this server never sends: ``core.errors`` renders validation failures, like every other
error, as ``{"error": {"code", "message", "details"}}``. The document is rewritten once, when it
is first asked for, so clients generated from it parse the errors they will get.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from spikeland.core.schemas import ErrorResponse

ERROR_SCHEMA = ErrorResponse.__name__
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def _envelope(description: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    return {"description": description, "content": content}


def rewrite(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's) with every 422 in our envelope, FastAPI's own error schemas gone."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    envelope = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = envelope
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _envelope("The request is not valid (validation_error).")
            # Whatever else goes wrong is in the same envelope, with its code.
            responses.setdefault("4XX", _envelope("A client error; `error.code` says which."))
            responses.setdefault("5XX", _envelope("internal_error; 503 database_unavailable and the like."))
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
