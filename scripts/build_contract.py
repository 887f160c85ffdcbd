#!/usr/bin/env python3
"""Build ``src/spikeland/db/contract.json``, the schema contract's facts in machine-readable form.

    .venv/bin/python scripts/build_contract.py path/to/DATABASE_SCHEMA.md
    .venv/bin/python scripts/build_contract.py path/to/DATABASE_SCHEMA.md --check

Run it when the specification changes and commit the result: the tests compare a migrated
database with the catalogue, so they need neither the specification nor its checker. Every fact
is written as PostgreSQL's catalog shows it (``format_type``, ``pg_get_expr``, Prisma's names),
so a comparison is plain equality. ``--check`` only reports whether the committed file is current.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[1] / "src" / "spikeland" / "db" / "contract.json"

# Prisma's PostgreSQL types for the specification's scalar types.
SCALARS = {
    "String": "text",
    "Int": "integer",
    "Float": "double precision",
    "Boolean": "boolean",
    "DateTime": "timestamp(3) without time zone",
    "Json": "jsonb",
    "Decimal(10,2)": "numeric(10,2)",
}
# Second-level sections that describe no table.
NOT_MODELS = {
    "Schema Version",
    "Table of Contents",
    "Schema Overview",
    "Indexes & Performance",
    "Security Considerations",
    "Scalability",
    "Migration Strategy",
    "Version History",
    "Appendix",
    "Related Documentation",
}
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1; Prisma shortens the column part to fit


@dataclass
class Model:
    """One ``### Model`` section as written, before any interpretation."""

    name: str
    domain: str
    table: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (column, type, constraints)
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (field, model, flags)
    indexes: list[tuple[bool, tuple[str, ...]]] = field(default_factory=list)  # (unique, columns)


def read_spec(text: str) -> tuple[list[Model], dict[str, list[str]]]:
    models: list[Model] = []
    enums: dict[str, list[str]] = {}
    domain: str | None = None  # None outside model sections, "" in the enumerations
    model: Model | None = None
    labels: list[str] | None = None
    block = ""
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            domain = None if title in NOT_MODELS else "" if title == "Enumerations" else title
            model, labels, block = None, None, ""
        elif line.startswith("### ") and domain is not None:
            name = line[4:].strip()
            if domain:
                model = Model(name, domain)
                models.append(model)
            else:
                labels = enums.setdefault(name, [])
            block = ""
        elif labels is not None and (m := re.match(r"^- `([A-Z0-9_]+)`", line)):
            labels.append(m[1])
        elif model is None:
            continue
        elif m := re.match(r"^\*\*Table Name\*\*: `([^`]+)`", line):
            model.table = m[1]
        elif m := re.match(r"^\*\*(Relationships|Indexes|Design Notes)\*\*", line):
            block = m[1]
        elif line.startswith("| ") and model.table and not block:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] != "Column" and not set(cells[0]) <= {"-"}:
                model.rows.append((cells[0], cells[1], cells[2]))
        elif block == "Relationships" and (
            m := re.match(r"^- `(\w+)`: (\w+)(\[\])?\??\s*(?:\((.*)\))?", line)
        ):
            if not m[3]:  # a list is the other side's foreign key
                model.relations.append((m[1], m[2], m[4] or ""))
        elif block == "Indexes" and (
            m := re.match(r"^- (UNIQUE (?:composite )?index|Composite index|Index) on `([^`]+)`", line)
        ):
            columns = tuple(c.strip() for c in m[2].strip("[]").split(",") if c.strip())
            model.indexes.append((m[1].startswith("UNIQUE"), columns))
    return models, enums


def prisma_name(table: str, columns: tuple[str, ...], suffix: str) -> str:
    stem = "_".join((table, *columns))
    return stem[: MAX_IDENTIFIER - len(suffix) - 1] + "_" + suffix


def column_type(spec_type: str, enums: dict[str, list[str]]) -> tuple[str, bool]:
    """(type as ``format_type`` shows it, nullable by the ``?`` mark)."""
    written = spec_type.replace(" (CUID)", "").replace(" ", "")
    base = written.rstrip("?")
    if base in enums:
        shown = f'"{base}"' if base != base.lower() else base
    elif base.endswith("[]"):
        shown = SCALARS[base[:-2]] + "[]"
    else:
        shown = SCALARS[base]
    return shown, written.endswith("?")


def column_default(written: str, spec_type: str, shown_type: str, enums: dict[str, list[str]]) -> str:
    """A default as ``pg_get_expr`` shows it."""
    if written == "now()":
        return "CURRENT_TIMESTAMP"
    if spec_type.rstrip("?") in enums:
        assert written in enums[spec_type.rstrip("?")], f"{written} is no {spec_type}"
        return f"'{written}'::{shown_type}"
    if written.startswith('"'):
        return f"'{written.strip(chr(34))}'::{shown_type}"
    return written  # booleans and numbers read as written


def foreign_key_target(model: Model, column: str, short: str, by_name: dict[str, Model]) -> Model:
    """The model a foreign-key column refers to: ``FK → Image.id`` names it only in part, and
    ``UNIQUE FK`` not at all, so the model's own relation fields decide."""
    stem = column.removesuffix("Id")
    for fld, target, _flags in model.relations:
        if fld == stem and target.endswith(short):
            return by_name[target]
    candidates = {target for _f, target, _flags in model.relations if target.endswith(short)}
    if len(candidates) == 1:
        return by_name[candidates.pop()]
    if short in by_name:
        return by_name[short]
    raise SystemExit(f"{model.table}.{column}: cannot tell which model FK {short!r} refers to")


def on_delete(model: Model, column: str, target: Model, nullable: bool) -> str:
    """The Relationships' words, or Prisma's rule: RESTRICT when required, SET NULL when optional."""
    stem = column.removesuffix("Id")
    flags = [f for fld, t, f in model.relations if fld == stem]
    if not flags:
        flags = [f for _fld, t, f in model.relations if t == target.name]
    words = flags[0] if len(flags) == 1 else ""
    for action in ("CASCADE", "SET NULL"):
        if action in words:
            return action
    return "SET NULL" if nullable else "RESTRICT"


def build_table(model: Model, by_name: dict[str, Model], enums: dict[str, list[str]]) -> dict[str, Any]:
    columns: list[dict[str, Any]] = []
    primary: tuple[str, ...] = ()
    unique: list[tuple[str, ...]] = []
    foreign_keys: list[dict[str, Any]] = []
    for name, spec_type, constraints in model.rows:
        shown, nullable = column_type(spec_type, enums)
        if "NOT NULL" in constraints:
            nullable = False
        elif re.search(r"(^|[ ,])NULL\b", constraints):
            nullable = True
        if "PRIMARY KEY" in constraints:
            primary, nullable = (*primary, name), False
        if re.search(r"\bUNIQUE\b", constraints):
            unique.append((name,))
        default = re.search(r"DEFAULT (.+)$", constraints)
        columns.append(
            {
                "name": name,
                "type": shown,
                "nullable": nullable,
                "default": column_default(default[1].strip(), spec_type, shown, enums) if default else None,
            }
        )
        if fk := re.search(r"\bFK\b(?: → (\w+)\.id)?", constraints):
            target = foreign_key_target(model, name, fk[1] or "", by_name)
            foreign_keys.append(
                {
                    "name": prisma_name(model.table, (name,), "fkey"),
                    "columns": [name],
                    "references": target.table,
                    "referencedColumns": ["id"],
                    "onDelete": on_delete(model, name, target, nullable),
                    "onUpdate": "CASCADE",
                }
            )
    # A column may be both UNIQUE and plainly indexed: Prisma then makes both indexes.
    indexes = dict.fromkeys(
        [(cols, True) for cols in unique] + [(c, u) for u, c in model.indexes if c != primary]
    )
    return {
        "model": model.name,
        "domain": model.domain,
        "columns": columns,
        "primaryKey": {"name": prisma_name(model.table, (), "pkey"), "columns": list(primary)}
        if primary
        else None,
        "indexes": [
            {
                "name": prisma_name(model.table, cols, "key" if u else "idx"),
                "columns": list(cols),
                "unique": u,
            }
            for cols, u in indexes
        ],
        "foreignKeys": foreign_keys,
    }


def build(spec: Path) -> dict[str, Any]:
    raw = spec.read_bytes()
    models, enums = read_spec(raw.decode("utf-8"))
    by_name = {m.name: m for m in models}
    version = re.search(r"\*\*Version\*\*: (\S+)", raw.decode("utf-8"))
    return {
        "about": "The schema contract's facts; generated by scripts/build_contract.py, do not edit.",
        "spec": {
            "file": spec.name,
            "version": version[1] if version else None,
            "sha256": hashlib.sha256(raw).hexdigest(),
        },
        "enums": enums,
        "tables": {m.table: build_table(m, by_name, enums) for m in models},
    }


def render(value: Any, indent: str = "") -> str:
    """JSON with one line per column, index, key and enum: small diffs when the spec changes."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or len(indent) >= 8 or len(indent) + len(flat) < 100:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {render(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(f"{inner}{render(v, inner)}" for v in value) + f"\n{indent}]"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec", type=Path, help="the schema specification (DATABASE_SCHEMA.md)")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when the output is not current")
    args = parser.parse_args()
    contract = build(args.spec)
    text = render(contract) + "\n"
    counts = f"{len(contract['tables'])} tables, {len(contract['enums'])} enums"
    if args.check:
        current = args.output.exists() and args.output.read_text(encoding="utf-8") == text
        print(f"{args.output}: {'current' if current else 'out of date'} ({counts})")
        return 0 if current else 1
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
