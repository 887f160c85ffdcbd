"""The indexed matcher (``core.route_index``) finds what FastAPI's own finds, for every route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, _IncludedRouter, iter_route_contexts
from starlette.routing import Match

from spikeland.app import create_app
from spikeland.core.route_index import _path_key, candidates_for, index_routes

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _paths(app: Any) -> list[str]:
    paths = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            path = re.sub(r"\{[^}]+\}", "x1", str(context.path_format))
            paths |= {path, path + "/", path.rstrip("/") + "/extra", path.rsplit("/", 1)[0]}
    return sorted(paths | {"/", "/api/v1/nothing", "/api/v1images"})


def _found(result: tuple[Any, ...]) -> tuple[Any, ...]:
    match, child_scope, route, _ = result
    return match, id(route), child_scope.get("path_params")


@pytest.mark.parametrize("method", METHODS)
def test_every_path_matches_as_fastapi_matches_it(method: str) -> None:
    app = create_app()
    routers = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    assert routers and all("_match" in r.__dict__ for r in routers)
    found = set()
    for path in _paths(app):
        for router in routers:
            scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
            theirs = _IncludedRouter._match(router, dict(scope))
            assert _found(router._match(dict(scope))) == _found(theirs), (method, path)
            # turned away at once only where FastAPI's own matching finds nothing
            if router.matches(dict(scope))[0] == Match.NONE:
                assert _IncludedRouter.matches(router, dict(scope))[0] == Match.NONE, (method, path)
            if theirs[0] != Match.NONE:
                found.add(path)
    assert len(found) > 20  # the comparison covered real matches, not only misses


def test_a_route_added_after_indexing_is_matched() -> None:
    api = APIRouter()
    api.add_api_route("/a/x", lambda: {}, methods=["GET"])
    app = FastAPI()
    app.include_router(api, prefix="/api/v1")
    index_routes(app)
    (router,) = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    scope = {"type": "http", "path": "/api/v1/b/x", "root_path": "", "method": "GET", "headers": []}
    assert router.matches(dict(scope))[0] == Match.NONE  # turned away: no route starts /api/v1/b
    api.add_api_route("/b/x", lambda: {}, methods=["GET"])
    assert router.matches(dict(scope))[0] == Match.FULL


@pytest.mark.parametrize("method", METHODS)
def test_the_app_tries_the_candidates_fastapi_would_find_first(method: str) -> None:
    app = create_app()
    kept: dict[str, list[Any]] = {}
    for path in _paths(app):
        scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}

        def first_full(routes: list[Any], scope: dict[str, Any] = scope) -> Any:
            return next((r for r in routes if r.matches(dict(scope))[0] == Match.FULL), None)

        ours = candidates_for(app.router, _path_key(dict(scope)), kept)
        assert first_full(ours) is first_full(app.router.routes), (method, path)
