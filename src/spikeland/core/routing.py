"""The route class of every router: a handler compiled once per route instead of FastAPI's
per-request dependency solver.

FastAPI resolves every parameter of every request through one generic solver (dependency
tree walk, cache keys, scopes, an anyio cancel scope around each ``yield`` dependency...).
Measured on the token spend (``benchmarks/instructions.py``, callgrind): 1.96 M instructions
per request through FastAPI's handler, 1.57 M through this one (the same endpoint and statements);
the floor of a request (``GET /api/v1``) is 0.45 M, so the solver was a large part of every small read.

A ``Route`` is declared like any route — the same signature, the same OpenAPI — but its handler
is compiled once, when the route is built, from the route's ``Dependant``, for the parameter
kinds routes use:

- path, query, header and cookie parameters, and one JSON body or form (files included, read by
  Starlette's ``request.form`` with FastAPI's form limits and closed when the endpoint is done),
  converted and validated by FastAPI's own functions (its parameter reading with what it redoes
  per request worked out once, ``request_body_to_args``) — except that one JSON body is validated
  straight from its bytes by the field's own adapter (one pass of pydantic-core instead of
  ``json.loads`` and a second walk), which words one error differently: a non-object where an
  object belongs is ``model_type`` ("Input should be an object"), where FastAPI's ``from_attributes``
  validation says ``model_attributes_type``. The errors are the same ``RequestValidationError``
  (the same 400/422 envelope) in the same order: a malformed body before anything runs,
  dependencies next, then the parameters and the body;
- dependencies that are async functions or async generators taking only ``Request``,
  ``Response``, ``BackgroundTasks`` and other such dependencies; each runs once per request, and a generator's
  cleanup runs before the response is sent (``Depends(scope="function")``, required), with the
  request's exception thrown into it;
- the response model serialised by FastAPI's ``serialize_response``, or, for an endpoint that
  answers ``core.wire.Rows``, the rows rendered in the model's shape without validation; headers
  and status set on the ``Response`` parameter are kept.

A route with anything else (security scopes, sync callables,
dependencies with parameters of their own, ``scope="request"`` generators) keeps FastAPI's own
handler, decided when the route is built (``compiled`` says which); a route never silently loses a
parameter. ``app.dependency_overrides`` is not consulted (nothing here uses it).

Written here rather than taken from a library: FastAPI offers no lighter solver, and this one
reuses its validation and serialisation so only the walk itself is ours. It leans on a few of
FastAPI's private helpers (pinned in the lock file); ``tests/core/test_routing.py`` mounts one
endpoint on both route classes and compares every answer (``test_routing_spend.py`` does the same
with the real token spend), and the whole suite runs through it, so an upgrade that changes them
fails there. ``tests/core/test_routing.py`` also checks that no route of the app keeps FastAPI's handler.
"""

from __future__ import annotations

import email.message
import functools
import inspect
import json
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import BackgroundTasks, params
from fastapi._compat import ModelField, field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _validate_value_with_model_field,
    request_body_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import (
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    _effective_route_context_var,
    _resolve_form_limits,
    serialize_response,
)
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, Json, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from spikeland.core.logging import log_request
from spikeland.core.wire import Rows, render

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class _Step:
    """One dependency: its callable, where its value goes, and what it takes."""

    call: Callable[..., Any]
    generator: bool
    request_param: str | None
    response_param: str | None
    background_param: str | None
    dependencies: tuple[tuple[str, Callable[..., Any]], ...]  # (parameter name, dependency)


class Route(APIRoute):
    """An ``APIRoute`` whose handler is compiled from its dependant (see the module), or FastAPI's
    own handler where the route takes what the compiled one does not support."""

    # Why the route keeps FastAPI's handler (None: compiled), once its handler has been built.
    fallback: str | None = None

    def get_route_handler(self) -> Handler:
        # A route included in the app is served through its "effective" form (prefix and
        # router-level dependencies merged), as FastAPI's own ``get_route_handler`` does.
        context = _effective_route_context_var.get()
        route = context if context is not None and context.original_route is self else self
        try:
            handler = _compile(route, self.form_limits)  # the route's own; the routers' are in the scope
        except Unsupported as why:
            self.fallback = str(why)
            return super().get_route_handler()
        self.fallback = None
        return handler


class Unsupported(TypeError):
    """The route takes something the compiled handler does not support."""


def _refuse(route: Any, why: str) -> Unsupported:
    return Unsupported(f"{route.path}: {why}")


def _steps(route: Any, dependant: Dependant, seen: dict[Callable[..., Any], _Step]) -> None:
    """The dependencies of ``dependant`` in the order FastAPI runs them (depth first), once each."""
    for sub in dependant.dependencies:
        call = sub.call
        assert call is not None
        name = getattr(call, "__name__", repr(call))
        if sub.path_params or sub.query_params or sub.header_params or sub.cookie_params or sub.body_params:
            raise _refuse(route, f"dependency {name} takes request parameters")
        if sub.security_scopes_param_name or sub.own_oauth_scopes:
            raise _refuse(route, f"dependency {name} takes security scopes")
        if sub.websocket_param_name or sub.http_connection_param_name or not sub.use_cache:
            raise _refuse(route, f"dependency {name} is not supported")
        generator = inspect.isasyncgenfunction(call)
        if not generator and not inspect.iscoroutinefunction(call):
            raise _refuse(route, f"dependency {name} is not async")
        if generator and sub.scope != "function":
            raise _refuse(route, f"generator dependency {name} must be Depends(scope='function')")
        _steps(route, sub, seen)
        if call not in seen:
            seen[call] = _Step(
                call=call,
                generator=generator,
                request_param=sub.request_param_name,
                response_param=sub.response_param_name,
                background_param=sub.background_tasks_param_name,
                dependencies=tuple((d.name, d.call) for d in sub.dependencies if d.name and d.call),
            )


@functools.lru_cache(maxsize=64)  # clients send the same few content types
def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _read_body(request: Request, strict_content_type: bool) -> Any:
    """FastAPI's body reading: JSON when declared so (or undeclared and not strict), else the bytes."""
    try:
        raw = await request.body()
        if not raw:
            return PydanticUndefined  # FastAPI's "no body": a required body is then "missing"
        content_type = request.headers.get("content-type")
        if _is_json(content_type) if content_type else not strict_content_type:
            return json.loads(raw)
        return raw
    except json.JSONDecodeError as error:
        detail = {
            "type": "json_invalid",
            "loc": ("body", error.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": error.msg},
        }
        raise RequestValidationError([detail], body=error.doc) from error
    except HTTPException:
        raise
    except Exception as error:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from error


@dataclass(frozen=True)
class _Validated:
    """A JSON body validated straight from its bytes: the value, or its errors (located under "body")."""

    value: Any
    errors: list[dict[str, Any]]


async def _read_validated(request: Request, strict_content_type: bool, adapter: TypeAdapter[Any]) -> Any:
    """The one JSON body of a route read and validated in one step by pydantic-core's parser
    (rather than ``json.loads`` and then a walk over the objects: benchmarks/README.md, page-view
    ingest). Anything but a JSON body (empty, another content type) is returned as ``_read_body``
    returns it, for the usual path.

    Validation errors are kept to be raised where FastAPI raises them (after the dependencies and
    parameters: an unauthenticated caller still gets 401 before a 422); unparseable JSON is raised
    at once, as ``_read_body`` does.
    """
    try:
        raw = await request.body()
    except HTTPException:
        raise
    except Exception as error:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from error
    content_type = request.headers.get("content-type")
    if not raw or not (_is_json(content_type) if content_type else not strict_content_type):
        return await _read_body(request, strict_content_type)  # the body is cached: not read twice
    try:
        return _Validated(adapter.validate_json(raw), [])
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    if any(error["type"] == "json_invalid" for error in errors):
        detail = {"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([detail], body=raw)
    return _Validated(None, [{**error, "loc": ("body", *error["loc"])} for error in errors])


async def _read_form(request: Request, limits: Any) -> FormData:
    """FastAPI's form reading: the route's limits over the routers', a malformed form a 400."""
    try:
        return await request.form(**_resolve_form_limits(request.scope.get(_FASTAPI_SCOPE_KEY, {}), limits))
    except HTTPException:  # Starlette's own for a malformed multipart body, or a middleware's
        raise
    except Exception as error:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from error


@dataclass(frozen=True)
class _Parameter:
    """A path, query, header or cookie parameter, read as ``request_params_to_args`` reads it, with
    what that function works out on every request (aliases, list or not) worked out once."""

    field: ModelField
    source: str  # the Request attribute: path_params, query_params, headers, cookies
    location: str  # "path", "query", "header", "cookie"
    keys: tuple[str, ...]  # the request keys it may come under, in preference order
    as_list: bool  # a sequence read with getlist (query and header multi-dicts)
    sequence: bool  # an empty sequence counts as absent
    # An absent parameter's value when FastAPI would hand over its default unvalidated and the
    # default cannot be changed by the endpoint (so its deepcopy is itself); else _NO_SHORTCUT.
    absent: Any

    def read(self, request: Request, values: dict[str, Any]) -> tuple[Any, list[Any]]:
        received = getattr(request, self.source)
        key = next((k for k in self.keys if k in received), self.keys[0])
        value = received.getlist(key) if self.as_list else received.get(key)
        if value is None or (self.sequence and len(value) == 0):
            if self.absent is not _NO_SHORTCUT:
                return self.absent, []
            value = PydanticUndefined  # defaults are applied by the validation, as FastAPI does
        return _validate_value_with_model_field(
            field=self.field, value=value, values=values, loc=(self.location, key)
        )


_NO_SHORTCUT = object()
_IMMUTABLE = (type(None), bool, int, float, str, bytes)


def _absent(field: ModelField) -> Any:
    info = field.field_info
    if info.is_required() or info.validate_default or info.default_factory is not None:
        return _NO_SHORTCUT
    return field.default if type(field.default) in _IMMUTABLE else _NO_SHORTCUT


def _parameter(route: Any, field: ModelField, source: str) -> _Parameter:
    if _get_param_model(field) is not None:
        raise _refuse(route, f"parameter model {field.name} is not supported")
    info = field.field_info
    assert isinstance(info, params.Param)
    sequence = field_annotation_is_sequence(info.annotation)
    is_json = any(type(item) is Json for item in info.metadata)
    return _Parameter(
        field=field,
        source=source,
        location=info.in_.value,
        keys=tuple(key for _, key in _get_param_aliases(field)),
        as_list=sequence and not is_json and source in ("query_params", "headers"),
        sequence=sequence,
        absent=_absent(field),
    )


def _sub_response() -> Response:
    """The ``Response`` a route's endpoint or dependencies may set headers and a status on."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]  # as FastAPI: "not set"
    return response


def _compile(route: Any, form_limits: Any) -> Handler:
    dependant: Dependant = route.dependant
    endpoint = dependant.call
    if not inspect.iscoroutinefunction(endpoint):
        raise _refuse(route, "the endpoint is not async")
    if dependant.security_scopes_param_name:
        raise _refuse(route, "the endpoint takes security scopes")
    if dependant.websocket_param_name or dependant.http_connection_param_name:
        raise _refuse(route, "the endpoint takes a connection object")
    body_field = route.body_field
    is_form = body_field is not None and isinstance(body_field.field_info, params.Form)  # File too
    ordered: dict[Callable[..., Any], _Step] = {}
    _steps(route, dependant, ordered)
    steps = tuple(ordered.values())
    own = tuple((d.name, d.call) for d in dependant.dependencies if d.name and d.call)
    parameters = tuple(
        _parameter(route, field, attr)
        for fields, attr in (
            (dependant.path_params, "path_params"),
            (dependant.query_params, "query_params"),
            (dependant.header_params, "headers"),
            (dependant.cookie_params, "cookies"),
        )
        for field in fields
    )
    # One JSON body (not a form, not embedded under its name): validated from its bytes. FastAPI
    # keeps the field's adapter on its ModelField (private: pinned, and tests/core/test_routing.py
    # compares the answers with FastAPI's own handler).
    json_body = (
        body_field is not None
        and not is_form
        and len(dependant.body_params) == 1
        and not route._embed_body_fields
        and isinstance(getattr(dependant.body_params[0], "_type_adapter", None), TypeAdapter)
    )
    adapter = dependant.body_params[0]._type_adapter if json_body else None
    body_name = dependant.body_params[0].name if json_body else ""
    # Made per request only for routes whose endpoint or dependencies take the Response.
    takes_response = dependant.response_param_name is not None or any(step.response_param for step in steps)
    strict = route.strict_content_type
    strict = getattr(strict, "value", strict)  # a DefaultPlaceholder unless set on the route
    status_code = route.status_code
    response_class = route.response_class
    dump_json = route.response_field is not None and isinstance(response_class, DefaultPlaceholder)
    response_class = getattr(response_class, "value", response_class)
    model = route.response_model
    rows_model = model if isinstance(model, type) and issubclass(model, BaseModel) else None

    async def handler(request: Request) -> Response:
        log_request.set(request.scope)  # what an error logged while handling it is about
        if body_field is None:
            body: Any = PydanticUndefined
        elif is_form:
            body = await _read_form(request, form_limits)
        elif adapter is not None:
            body = await _read_validated(request, strict, adapter)
        else:
            body = await _read_body(request, strict)
        sub_response = _sub_response() if takes_response else None
        solved: dict[Callable[..., Any], Any] = {}
        background: BackgroundTasks | None = None  # one per request, made when first asked for
        async with AsyncExitStack() as stack:
            if is_form:  # its spooled files, once the endpoint is done with them (as FastAPI)
                stack.push_async_callback(body.close)
            for step in steps:
                kwargs = {name: solved[call] for name, call in step.dependencies}
                if step.request_param:
                    kwargs[step.request_param] = request
                if step.response_param:
                    kwargs[step.response_param] = sub_response
                if step.background_param:
                    background = BackgroundTasks() if background is None else background
                    kwargs[step.background_param] = background
                if step.generator:
                    solved[step.call] = await stack.enter_async_context(
                        asynccontextmanager(step.call)(**kwargs)
                    )
                else:
                    solved[step.call] = await step.call(**kwargs)
            values = {name: solved[call] for name, call in own}
            if dependant.request_param_name:
                values[dependant.request_param_name] = request
            if dependant.response_param_name:
                values[dependant.response_param_name] = sub_response
            if dependant.background_tasks_param_name:
                background = BackgroundTasks() if background is None else background
                values[dependant.background_tasks_param_name] = background
            errors: list[Any] = []
            for parameter in parameters:
                value, wrong = parameter.read(request, values)
                if wrong:
                    errors += wrong
                else:
                    values[parameter.field.name] = value
            if isinstance(body, _Validated):
                if body.errors:
                    errors += body.errors
                else:
                    values[body_name] = body.value
            elif body_field is not None:
                found, wrong = await request_body_to_args(
                    body_fields=dependant.body_params,
                    received_body=body,
                    embed_body_fields=route._embed_body_fields,
                )
                values.update(found)
                errors += wrong
            if errors:
                raise RequestValidationError(errors, body=None if body is PydanticUndefined else body)
            result = await endpoint(**values)
            if isinstance(result, Response):
                if result.background is None:  # as FastAPI: the tasks run after the response
                    result.background = background
                return result
            if isinstance(result, Rows):  # trusted rows, shaped by the model (core.wire)
                shape = result.model or rows_model
                if shape is None:
                    raise TypeError(f"{route.path}: Rows need a model, theirs or the route's")
                content, as_json = render(shape, result.payload), True
            else:
                as_json = dump_json
                content = await serialize_response(
                    field=route.response_field,
                    response_content=result,
                    include=route.response_model_include,
                    exclude=route.response_model_exclude,
                    by_alias=route.response_model_by_alias,
                    exclude_unset=route.response_model_exclude_unset,
                    exclude_defaults=route.response_model_exclude_defaults,
                    exclude_none=route.response_model_exclude_none,
                    dump_json=dump_json,
                )
        status = (sub_response.status_code if sub_response is not None else None) or status_code or 200
        if as_json:  # the model (or rows) dumped straight to JSON bytes
            response = Response(content=content, status_code=status, media_type="application/json")
        else:
            response = response_class(content, status_code=status)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if sub_response is not None:
            response.headers.raw.extend(sub_response.headers.raw)
        response.background = background
        return response

    return handler
