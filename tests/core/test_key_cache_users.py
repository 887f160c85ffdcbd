"""The API-key cache (``identity.key_cache``) is reached only through the caller lookup, and the
request unit's connection free list (``DriverConnections``) only through the unit: both are safe
only because of how those few places use them (the cache's generation count and lastUsedAt rule,
the free list's rollback on return). A new use must be added to the allow-list below, with why.

(Every route is a ``core.routing.Route`` and may read on the driver: ``tests/core/test_routing.py``.)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import spikeland

MACHINERY = {"DriverConnections", "KeyCache", "key_cache_of"}
DEFINED_IN = {"spikeland.db.session", "spikeland.identity.key_cache"}
ALLOWED = {
    ("spikeland.identity.deps", "_identify"),  # the caller lookup hands the cache to identify
    ("spikeland.identity.deps", "key_cache_of"),
    ("spikeland.identity.api_keys", "identify"),
    ("spikeland.app", "create_app.lifespan"),
}


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
            if node.attr in MACHINERY:
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
    assert elsewhere == [], (
        "the key cache or the free list outside the allow-list (tests/core/test_key_cache_users.py)"
    )
