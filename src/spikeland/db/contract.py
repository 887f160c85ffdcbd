"""The schema contract, as the committed catalogue ``contract.json`` records it.

The catalogue is generated from the specification by ``scripts/build_contract.py`` and holds
only what the specification states, written as PostgreSQL's catalog shows it (types by
``format_type``, defaults by ``pg_get_expr``, Prisma's constraint and index names). Our own
additions beyond it (migrations 0002+) are not in it; ``docs/data-model.md`` describes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: str | None


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    references: str
    referenced_columns: tuple[str, ...]
    on_delete: str
    on_update: str

    @property
    def actions(self) -> tuple[str, str]:
        return self.on_delete, self.on_update


@dataclass(frozen=True)
class Table:
    name: str
    model: str
    domain: str
    columns: tuple[Column, ...]
    primary_key: Index | None  # verification_tokens has none
    indexes: tuple[Index, ...]  # unique and plain, the primary key aside
    foreign_keys: tuple[ForeignKey, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Contract:
    spec_version: str
    enums: dict[str, tuple[str, ...]]  # labels in their order
    tables: dict[str, Table]


def _table(name: str, raw: dict[str, Any]) -> Table:
    pk = raw["primaryKey"]
    return Table(
        name=name,
        model=raw["model"],
        domain=raw["domain"],
        columns=tuple(Column(c["name"], c["type"], c["nullable"], c["default"]) for c in raw["columns"]),
        primary_key=Index(pk["name"], tuple(pk["columns"]), True) if pk else None,
        indexes=tuple(Index(i["name"], tuple(i["columns"]), i["unique"]) for i in raw["indexes"]),
        foreign_keys=tuple(
            ForeignKey(
                f["name"],
                tuple(f["columns"]),
                f["references"],
                tuple(f["referencedColumns"]),
                f["onDelete"],
                f["onUpdate"],
            )
            for f in raw["foreignKeys"]
        ),
    )


@cache
def load() -> Contract:
    raw = json.loads(resources.files(__package__).joinpath("contract.json").read_text(encoding="utf-8"))
    return Contract(
        spec_version=raw["spec"]["version"],
        enums={name: tuple(labels) for name, labels in raw["enums"].items()},
        tables={name: _table(name, table) for name, table in raw["tables"].items()},
    )
