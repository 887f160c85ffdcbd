"""The specification as ``../shared/tools/schema_check.py`` reads it, for tests that compare models to it.

The checker is loaded from its file beside the repository (it is not a package);
``SPIKELAND_SCHEMA_CHECK`` may point elsewhere.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCHEMA_CHECK = Path(
    os.environ.get("SPIKELAND_SCHEMA_CHECK", str(REPO.parent / "shared" / "tools" / "schema_check.py"))
)


def _load(path: Path) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location("schema_check", path)
    assert module_spec is not None and module_spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(module_spec)
    sys.modules.setdefault("schema_check", module)  # dataclasses look their module up here
    module_spec.loader.exec_module(module)
    return module


schema_check = _load(SCHEMA_CHECK)
_models, ENUMS = schema_check.parse_spec(schema_check.DEFAULT_SPEC)
TABLES: dict[str, Any] = {t.name: t for t in _models.values()}  # by table name, not model name


def spec_column(table: str, column: str) -> Any:
    return next(c for c in TABLES[table].columns if c.name == column)


def spec_on_delete() -> set[tuple[str, str, str, str]]:
    """(table, column, referenced table, ON DELETE) for every foreign key the spec names."""
    found: set[tuple[str, str, str, str]] = set()
    for table in TABLES.values():
        for column in table.columns:
            if column.fk_short is None:
                continue
            target = schema_check.resolve_fk(table, column, _models)
            assert target is not None, f"spec: unresolved FK {table.name}.{column.name}"
            flags = schema_check.relation_for(table, column, target)
            found.add(
                (
                    table.name,
                    column.name,
                    target.name,
                    schema_check.expected_on_delete(flags, column.nullable),
                )
            )
    return found


def spec_unique_indexes() -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every unique index the spec asks for, primary keys aside."""
    found: set[tuple[str, tuple[str, ...]]] = set()
    for table in TABLES.values():
        pk = tuple(c.name for c in table.columns if c.primary)
        found |= {(table.name, (c.name,)) for c in table.columns if c.unique and not c.primary}
        found |= {(table.name, cols) for cols in table.unique_indexes if cols != pk}
    return found
