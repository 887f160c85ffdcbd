"""Every error code the API can answer, with its HTTP status and where it comes from.

Read from the code itself, so the table in ``docs/errors.md`` cannot drift from it: the error
classes (each ``SpikelandError`` subclass's status and default code), every ``code="..."`` given
to one of them where it is raised, the codes ``core.errors``' handlers write themselves, and the
two middlewares that answer before any route (body cap, cross-site refusal). The test suite
compares the committed table with ``render()``; ``python -m spikeland.core.error_codes`` rewrites it.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections import defaultdict
from pathlib import Path

import spikeland
from spikeland.core import admission, csrf, errors, limits

ROOT = Path(spikeland.__file__).parent
DOC = Path("docs/errors.md")


def _error_classes() -> dict[str, type[errors.SpikelandError]]:
    for module in pkgutil.walk_packages([str(ROOT)], "spikeland."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: dict[str, type[errors.SpikelandError]] = {}
    pending: list[type[errors.SpikelandError]] = [errors.SpikelandError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending += cls.__subclasses__()
    return found


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def collect() -> dict[str, set[tuple[int, str]]]:
    """code -> {(status, module)}; a code raised through something not an error class is refused."""
    classes = _error_classes()
    table: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for cls in classes.values():
        if cls is not errors.SpikelandError:
            table[cls.code].add((cls.status_code, cls.__module__))
    unresolved: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = "spikeland." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                continue
            name = _callee(node)
            if name in classes:
                table[code.value].add((classes[name].status_code, module))
            else:
                unresolved.append(f"{module}: code={code.value!r} given to {name}()")
        if module == "spikeland.core.errors":  # its handlers pass (status, code) positionally
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and _callee(node) == "_response" and len(node.args) >= 2:
                    given, named = node.args[0], node.args[1]
                    if isinstance(given, ast.Constant) and isinstance(named, ast.Constant):
                        table[str(named.value)].add((int(str(given.value)), module))
    if unresolved:
        raise ValueError("codes not given to an error class:\n" + "\n".join(unresolved))
    for http_status, http_code in errors._HTTP_CODES.items():
        table[http_code].add((http_status, "spikeland.core.errors"))
    table[limits.CODE].add((413, limits.__name__))
    table[csrf.CODE].add((403, csrf.__name__))
    table[admission.CODE].add((503, admission.__name__))
    return table


def render() -> str:
    lines = [
        "# Error codes",
        "",
        'Every error leaves the API as `{"error": {"code": ..., "message": ..., "details": ...}}`.',
        "Clients branch on `code` (stable); `message` is for people and may change. This table is",
        "generated from the code (`python -m spikeland.core.error_codes`); a test keeps it current.",
        "",
        "| code | HTTP status | raised in |",
        "| --- | --- | --- |",
    ]
    for code, places in sorted(collect().items()):
        statuses = ", ".join(str(s) for s in sorted({s for s, _ in places}))
        modules = ", ".join(f"`{m.removeprefix('spikeland.')}`" for m in sorted({m for _, m in places}))
        lines.append(f"| `{code}` | {statuses} | {modules} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC
    target.write_text(render())
    print(f"wrote {target}")
