"""Route matching that skips the routes a path cannot match, for every route of the app.

FastAPI matches a request by trying each route of each included router in turn (a regular
expression and a few scope updates each), and the matched router's routes twice (once to find the
router, once to handle). With ~120 routes a route late in the list pays for dozens of misses before
its own work (measured with ``benchmarks/instructions.py``: figures in ``benchmarks/README.md``,
"Request path"). Here each included router tries only the routes whose path starts with the
literal text before their first parameter (``/api/v1/images/`` for ``/api/v1/images/{image_id}``)
and has as many segments (a parameter holds no "/" unless it is a ``:path`` one): a route whose
literal start or segment count the path lacks could not match, so the routes tried, their order and
the outcome are FastAPI's own. Routes that are not ``APIRoute`` (mounts, nested routers) are
always tried.

Before that, each included router turns a path away at once when none of its routes can match it
(``_turn_away``): a path's first three segments (``/api/v1/images``) are literal in almost every
route, so a router whose routes' first three segments do not include the path's cannot match it;
Starlette still asks every included router in turn, and FastAPI's own ``matches`` cost ~25 Python
calls a router (a route in the twelfth router paid for eleven). A router with a route whose first
three segments hold a parameter is always asked.

And the app's own router asks only the routers and routes that may match the path (``_dispatch``):
the candidates for a path's first three segments are worked out once (kept per key) and tried in
the app's order, so the first that matches in full is the one FastAPI's loop would find — the
routes left out are those that answer NONE. When none of them matches in full (a 404, a 405, a
redirect to the slashed path, a route added after indexing), FastAPI's own loop runs as it would
have.

``index_routes`` sets all this on the app and each router included in it (after they all are). It
repeats FastAPI's ``_IncludedRouter._match`` over the kept candidates, with FastAPI's private
helpers (pinned, as ``core.routing``'s); ``tests/core/test_route_index.py`` checks it finds the
same route as FastAPI's for every route of the app.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _SCOPE_MISSING,
    APIRoute,
    APIRouter,
    _apply_router_form_limits,
    _get_fastapi_scope,
    _IncludedRouter,
    _restore_fastapi_scope_key,
    _update_scope,
)
from fastapi.telemetry._api import _route_selected
from starlette._utils import get_route_path
from starlette.routing import Match, Mount
from starlette.types import Receive, Scope, Send

_INDEX = "_spikeland_index"  # on the included router: (its candidates list, their literal starts)
_KEYS = "_spikeland_keys"  # on the included router: (routes version, candidates, keys or None: any, nested)
_PATH_KEY = "spikeland.route_key"  # in the scope: (route path, its first three segments)
_MATCHED = "spikeland.matched"  # in the scope: (included router, path, method, what _match found)
_DEPTH = 4  # "", "api", "v1", "images": a path's first three segments


def _key(path: str) -> str:
    return "/".join(path.split("/", _DEPTH)[:_DEPTH])


def _route_key(candidate: Any) -> str | None:
    """The first three segments every path this candidate matches has; None: any (a parameter in
    them, or not a plain route)."""
    if isinstance(candidate, _IncludedRouter) or not isinstance(candidate.original_route, APIRoute):
        return None
    key = _key(candidate.path_format)
    return None if "{" in key else key


def _keys(router: _IncludedRouter) -> frozenset[str] | None:
    # Asked of every included router on every request, so the routes' version is read from the
    # router's own counter when it includes no other router (FastAPI's ``effective_candidates``
    # walks the tree to sum it: ~3 µs, times ~20 routers); a router that does is checked as FastAPI
    # checks it.
    original = router.original_router
    known = router.__dict__.get(_KEYS)
    if known is not None and not known[3] and known[0] == original._routes_version:
        keys: frozenset[str] | None = known[2]
        return keys
    candidates = router.effective_candidates()
    if known is None or known[1] is not candidates:
        each = [_route_key(c) for c in candidates]
        nested = any(isinstance(c, _IncludedRouter) for c in candidates)
        found = None if None in each else frozenset(k for k in each if k is not None)
        known = (original._routes_version, candidates, found, nested)
        router.__dict__[_KEYS] = known
    keys = known[2]
    return keys


def _path_key(scope: Scope) -> str:
    """The request path's first three segments, worked out once per path (every router asks)."""
    path = get_route_path(scope)
    cached = scope.get(_PATH_KEY)
    if cached is not None and cached[0] == path:
        key: str = cached[1]
        return key
    key = _key(path)
    scope[_PATH_KEY] = (path, key)
    return key


def _literal_start(candidate: Any) -> tuple[str, int | None] | None:
    """The text every path this candidate matches starts with, and how many "/" such a path has
    (None: any number, a ``:path`` parameter); None: try it always."""
    if isinstance(candidate, _IncludedRouter) or not isinstance(candidate.original_route, APIRoute):
        return None
    path: str = candidate.path_format
    slashes = None if ":path}" in path else path.count("/")
    return path.split("{", 1)[0], slashes


def _candidates(router: _IncludedRouter, path: str) -> list[Any]:
    candidates = router.effective_candidates()
    index = router.__dict__.get(_INDEX)
    if index is None or index[0] is not candidates:  # routes changed: FastAPI built a new list
        index = (candidates, tuple((c, _literal_start(c)) for c in candidates))
        router.__dict__[_INDEX] = index
    slashes = path.count("/")
    return [
        c
        for c, start in index[1]
        if start is None or (path.startswith(start[0]) and start[1] in (None, slashes))
    ]


def _match(router: _IncludedRouter, scope: Scope) -> tuple[Match, Scope, Any, Any]:
    """FastAPI's ``_IncludedRouter._match`` over the candidates the path can match, once per request
    and router: FastAPI asks it when the app's router tries the included one (``matches``) and again
    when that one handles the request; nothing that matching reads (path, method) changes in between."""
    path, method = get_route_path(scope), scope.get("method")
    memo = scope.get(_MATCHED)
    if memo is not None and memo[0] is router and memo[1] == path and memo[2] == method:
        found: tuple[Match, Scope, Any, Any] = memo[3]
        return found
    found = _match_anew(router, scope, path)
    scope[_MATCHED] = (router, path, method, found)
    return found


def _match_anew(router: _IncludedRouter, scope: Scope, path: str) -> tuple[Match, Scope, Any, Any]:
    partial: tuple[Scope, Any, Any] | None = None
    for candidate in _candidates(router, path):
        if isinstance(candidate, _IncludedRouter):
            match, child_scope = candidate.matches(scope)
            route: Any = candidate
            route_context = None
        elif isinstance(candidate.original_route, APIRoute):
            route_context = candidate
            fastapi_scope = _get_fastapi_scope(scope)
            previous_context = fastapi_scope.get(_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, _SCOPE_MISSING)
            fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = route_context
            try:
                match, child_scope = candidate.original_route.matches(scope)
            finally:
                _restore_fastapi_scope_key(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, previous_context)
            route = candidate.original_route
        else:
            route_context = candidate
            match, child_scope = candidate.matches(scope)
            route = candidate.starlette_route or candidate.original_route
        if match == Match.FULL:
            return match, child_scope, route, route_context
        if match == Match.PARTIAL and partial is None:
            partial = (child_scope, route, route_context)
    if partial is not None:
        child_scope, route, route_context = partial
        return Match.PARTIAL, child_scope, route, route_context
    return Match.NONE, {}, None, None


def _turn_away(router: _IncludedRouter, matches: Any) -> Any:
    """``router.matches``, answering NONE at once for a path none of its routes can match."""

    def turning_away(scope: Scope) -> tuple[Match, Scope]:
        keys = _keys(router)
        if keys is not None and scope["type"] == "http" and _path_key(scope) not in keys:
            return Match.NONE, {}
        result: tuple[Match, Scope] = matches(scope)
        return result

    return turning_away


_MAX_KEYS = 1024  # keys come from request paths: the kept candidate lists are bounded


def candidates_for(router: APIRouter, key: str, kept: dict[str, list[Any]]) -> list[Any]:
    """The routes of ``router`` a path with this key may match, in the router's order."""
    found = kept.get(key)
    if found is None:
        if len(kept) >= _MAX_KEYS:
            kept.clear()
        found = []
        for route in router.routes:
            keys = _keys(route) if isinstance(route, _IncludedRouter) else None
            if keys is None or key in keys:
                found.append(route)
        kept[key] = found
    return found


def _dispatch(router: APIRouter) -> Callable[[Scope, Receive, Send], Coroutine[Any, Any, None]]:
    loop = router.app  # FastAPI's own: every route in turn
    kept: dict[str, list[Any]] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await loop(scope, receive, send)
            return
        for route in candidates_for(router, _path_key(scope), kept):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:  # as FastAPI's loop handles its first full match
                _apply_router_form_limits(scope, router.form_limits)
                scope.setdefault("router", router)
                _update_scope(scope, child_scope)
                path = getattr(route, "path_format", None)
                _route_selected(scope=scope, path=path, mount=isinstance(route, Mount))
                await route.handle(scope, receive, send)
                return
        await loop(scope, receive, send)

    return app


def index_routes(app: FastAPI) -> None:
    """Match through the index: the app's router, and each router included in it (call once all
    are included)."""
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            route.__dict__["_match"] = _match.__get__(route)
            route.__dict__["matches"] = _turn_away(route, route.matches)
    if app.router.middleware_stack == app.router.app:  # no router middleware wraps the loop
        app.router.middleware_stack = _dispatch(app.router)  # type: ignore[assignment]  # an ASGI app
