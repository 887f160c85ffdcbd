"""The methods a path supports, across every route that serves it (for ``Allow`` on 405 and OPTIONS)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match
from starlette.types import Scope

# In the order they are listed (HEAD only where a route serves it: FastAPI routes do not add it).
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """Each method some route of ``app`` matches ``scope``'s path with in full, then OPTIONS.

    The app's routes are asked as its router asks them (``matches``), once per method, on a copy
    of the scope: FastAPI's included routers match through their own routes, so the answer is
    the router's own, prefixes and path converters included.
    """
    allowed = [method for method in METHODS if _matched(app, {**scope, "method": method})]
    return [*allowed, "OPTIONS"]


def _matched(app: Any, probe: Scope) -> bool:
    return any(route.matches(probe)[0] is Match.FULL for route in app.router.routes)
