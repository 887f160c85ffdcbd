"""The hot-path machinery (docs/architecture.md, "Hot paths") is used where it was measured and
nowhere else: HotRoute, the request unit in driver mode (``DbUnit``: the unit itself rather than its
ORM session, ``RequestDb.driver``, ``DriverConnections``) and the API-key cache. A new use must be
added to an allow-list below, with the benchmark that justifies it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

import spikeland
from spikeland.app import create_app
from spikeland.db import session as db_session

# Who may take the unit itself (driver mode), as "module.function": the caller lookup of the spend
# and the spend. (db.session's ORM-session dependency makes or shares the unit without taking it.)
DRIVER_MODE = {"spikeland.identity.deps.require_caller", "spikeland.tokens.api.spend"}
ORM_MODE = "spikeland.db.session._request_session"

# Where the names of the machinery may appear in the source, as (module, enclosing function): the
# allow-list above, where the app builds them, and the modules that define them.
MACHINERY = {"HotRoute", "DbUnit", "RequestDb", "DriverConnections", "KeyCache", "key_cache_of"}
DRIVER = "driver"  # as an attribute: RequestDb.driver (the job queue's own driver() is another thing)
DEFINED_IN = {"spikeland.core.hot_route", "spikeland.db.session", "spikeland.identity.key_cache"}
ALLOWED = {
    ("spikeland.tokens.api", "<module>"),  # the spend's route_class_override=HotRoute
    ("spikeland.tokens.api", "spend"),
    ("spikeland.identity.deps", "require_caller"),
    ("spikeland.identity.deps", "key_cache_of"),  # its only user is require_caller
    ("spikeland.identity.api_keys", "identify"),  # the lookup require_caller hands the cache to
    ("spikeland.app", "create_app.lifespan"),
}


def _name(call: Callable[..., Any]) -> str:
    return f"{call.__module__}.{call.__qualname__}"


def _takers_of_the_unit(dependant: Dependant) -> Iterator[str]:
    """Every callable in the tree that takes the request unit itself as a parameter."""
    for sub in dependant.dependencies:
        if sub.call is db_session._request_db and dependant.call is not None:
            yield _name(dependant.call)
        yield from _takers_of_the_unit(sub)


def test_only_the_spend_works_in_driver_mode() -> None:
    takers: dict[str, set[str]] = {}
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for taker in _takers_of_the_unit(route.dependant):
                takers.setdefault(taker, set()).add(str(context.path_format))
    assert set(takers) - {ORM_MODE} == DRIVER_MODE, takers
    for taker in DRIVER_MODE:
        assert takers[taker] == {"/api/v1/tokens/spend"}


def _uses(path: Path, module: str) -> Iterator[tuple[str, str, str]]:
    """(module, enclosing function, name) for each mention of the machinery in one source file."""
    scope: list[str] = []

    class Visitor(ast.NodeVisitor):
        def _enter(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
            scope.append(node.name)
            self.generic_visit(node)
            scope.pop()

        visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _enter

        def visit_Name(self, node: ast.Name) -> None:
            if node.id in MACHINERY:
                found.append((module, ".".join(scope) or "<module>", node.id))

        def visit_Attribute(self, node: ast.Attribute) -> None:
            if node.attr in MACHINERY or node.attr == DRIVER:
                found.append((module, ".".join(scope) or "<module>", node.attr))
            self.generic_visit(node)

    found: list[tuple[str, str, str]] = []
    Visitor().visit(ast.parse(path.read_text(), str(path)))
    return iter(found)


def test_the_machinery_is_named_nowhere_else_in_the_source() -> None:
    package = Path(spikeland.__file__).parent
    elsewhere = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        if module in DEFINED_IN:
            continue
        elsewhere += [use for use in _uses(path, module) if use[:2] not in ALLOWED]
    assert elsewhere == [], "hot-path machinery outside its allow-list (tests/core/test_hot_paths.py)"
