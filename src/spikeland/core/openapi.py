"""The OpenAPI document as the server really answers: each operation's errors, in our envelope.

FastAPI documents each operation's 422 as its ``HTTPValidationError`` (``{"detail": [...]}``),
which this server never sends: ``core.errors`` renders validation failures, like every other
error, as ``{"error": {"code", "message", "details"}}``. The document is rewritten once, when it
is first asked for, so clients generated from it parse the errors they will get.

Each operation lists the statuses it can answer, each described by its error codes
(``docs/errors.md``). Most are read from the route itself (``_derived``): its dependencies
(authentication, rate limits: registered with ``raises``), its path parameters, its body, its
method. What only the handler's services know (402 insufficient_tokens, a 409, a domain's 404) is
declared on the route with ``errors(code=status, ...)``; a test checks every declared pair
against the error-code table, which is too slow to scan here (about 1.5 s: it imports and parses
every module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from spikeland.core.schemas import ErrorResponse

ERROR_SCHEMA = ErrorResponse.__name__
EXTENSION = "x-spikeland-errors"  # the route's declared codes, read and removed by ``rewrite``
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

Codes = dict[int, set[str]]
# A dependency's errors, registered beside it (identity.deps, core.deps): core imports no domain.
_RAISES: dict[Callable[..., Any], dict[str, int]] = {}


F = TypeVar("F", bound=Callable[..., Any])


def raises(call: F, **codes: int) -> F:
    """Register the errors a dependency raises, as ``code=status``; any route depending on it,
    however deeply, documents them."""
    _RAISES[call] = {**_RAISES.get(call, {}), **codes}
    return call


def errors(**codes: int) -> dict[str, Any]:
    """``openapi_extra`` for what a route's handler raises beyond what is derived, as
    ``code=status``: ``@router.post(..., openapi_extra=errors(insufficient_tokens=402))``."""
    return {EXTENSION: codes}


def _add(found: Codes, codes: dict[str, int]) -> None:
    for code, status in codes.items():
        found.setdefault(status, set()).add(code)


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def _derived(root: Dependant, method: str) -> Codes:
    found: Codes = {500: {"internal_error"}, 503: {"database_unavailable"}}
    tree = list(_tree(root))
    for dependant in tree:
        _add(found, _RAISES.get(dependant.call, {}) if dependant.call else {})
    path = [p for d in tree for p in d.path_params]
    body = [p for d in tree for p in d.body_params]
    others = [p for d in tree for p in (*d.query_params, *d.header_params, *d.cookie_params)]
    if path:
        # No row with that id; or an id no route matches (a "/" in it): the router's own 404.
        _add(found, {"not_found": 404})
    if body:
        _add(found, {"payload_too_large": 413, "validation_error": 422})
        # A form that cannot be parsed is FastAPI's 400; JSON that cannot be, core.errors'.
        form = any(_is_form(param) for param in body)
        _add(found, {"bad_request": 400} if form else {"malformed_json": 400})
    if path or others:
        _add(found, {"validation_error": 422})
    if method in _STATE_CHANGING:
        _add(found, {"csrf_origin_mismatch": 403})  # core.csrf: a cookie request from elsewhere
    if found.get(422):
        found[422].add("invalid_text")  # a NUL byte in any text that reaches the database
    return found


def _is_form(param: Any) -> bool:
    return type(param.field_info).__name__ in ("Form", "File")


def _envelope(description: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    return {"description": description, "content": content}


def _document_errors(operation: dict[str, Any], found: Codes) -> None:
    _add(found, operation.pop(EXTENSION, {}))
    responses = operation.setdefault("responses", {})
    for status in sorted(found):
        responses[str(status)] = _envelope(", ".join(sorted(found[status])))
    for status, response in responses.items():
        if status[0] in "45" and "content" not in response:  # a `responses=` error left on a route
            responses[status] = _envelope(response.get("description", ""))
    operation["responses"] = dict(sorted(responses.items()))


def rewrite(document: dict[str, Any], routes: list[Any] | None = None) -> dict[str, Any]:
    """``document`` (FastAPI's, for ``routes``) with each operation's errors, in our envelope."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    envelope = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = envelope
    paths = document.get("paths", {})
    # Routes as FastAPI documents them: included routers' routes with their prefix and dependencies.
    for route in iter_route_contexts(routes or []):
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format or "", {}).get(method.lower())
            if operation is not None:
                _document_errors(operation, _derived(route.dependant, method))
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(FastAPI.openapi(app), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
