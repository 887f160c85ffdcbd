"""Reads on the driver: a SQLAlchemy Core SELECT compiled once, run on the asyncpg connection.

The ORM session costs a read more Python than the read itself: the session and its identity map,
the greenlet bridge into SQLAlchemy's synchronous core, the execution context, one entity (and
its instrumented attributes) per row. A page of 20 images cost ~0.3 M instructions a row that
way (benchmarks/README.md, "Request path"). A ``Query`` keeps what is good about the ORM — the
statement is written with the mapped classes, checked against the model — and drops the rest:

- the statement is compiled to PostgreSQL's SQL once, when the ``Query`` is made (at import);
  each run sends that text with its parameters in order, and asyncpg prepares it once per
  connection (its statement cache);
- timestamps (``UTCDateTime`` columns: ``timestamp without time zone`` holding UTC) are selected
  as ``timezone('UTC', column)``, so the driver returns them aware, as the ORM does, with no
  Python per value;
- rows come back as asyncpg ``Record``s keyed by the selected columns' names (the database's
  camelCase names, which are also the wire schemas' aliases, so ``Schema.model_validate`` reads
  them as they are);
- the statement's own constants (``status == JobStatus.COMPLETED``) are bound as SQLAlchemy would
  bind them, once; parameters given per run (``bindparam("user_id")``) go through the column
  type's bind processing too (an aware datetime becomes the naive UTC the column holds).

What it is not for: writes and anything that must lock rows or hold a transaction's snapshot
(those run on the ORM session, or on ``RequestDb.driver`` inside the request's transaction). A
``Query`` run on ``RequestDb.reader`` runs outside any transaction until the request writes,
which under READ COMMITTED sees the same rows (``db.lazy_begin``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import asyncpg
from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, tuple_
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from spikeland.core.pagination import MAX_PAGE, Key, Page, decode_cursor, encode_cursor, key_kind, ordering
from spikeland.db.types import UTCDateTime


class Connections(Protocol):
    """Where a domain's ``reads`` get their connection: the request's unit (``RequestDb``), or any
    holder of a driver connection (a test's session)."""

    async def reader(self) -> asyncpg.Connection:
        """The connection for plain reads (outside a transaction until the holder writes)."""

    async def driver(self) -> asyncpg.Connection:
        """The connection inside the holder's transaction (for writes and locking reads)."""


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


def _aware(column: ColumnElement[Any]) -> ColumnElement[Any]:
    if isinstance(column.type, UTCDateTime):
        # The zone as a literal: a bound one would make each such column one more parameter.
        return func.timezone(literal_column("'UTC'"), column).label(column.name)
    return column


class Query:
    """One SELECT, compiled once; ``await q.all(connection, name=value...)``."""

    __slots__ = ("_binds", "sql")

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        columns = [_aware(c) for c in statement.selected_columns]
        compiled = statement.with_only_columns(*columns, maintain_column_froms=True).compile(dialect=_DIALECT)
        self.sql = str(compiled)
        # SQLAlchemy's own bind processing per parameter (its compiled form keeps them privately;
        # the pinned version is exercised by every test of a Query).
        processors: dict[str, Callable[[Any], Any]] = compiled._bind_processors  # type: ignore[assignment]
        binds: list[tuple[str, Callable[[Any], Any] | None, bool, Any]] = []
        for name in compiled.positiontup or ():
            process = processors.get(name)
            constant = compiled.params.get(name)
            if constant is not None and process is not None:
                constant = process(constant)
            binds.append((name, process, compiled.binds[name].required, constant))
        self._binds = tuple(binds)

    def _arguments(self, values: dict[str, Any]) -> list[Any]:
        arguments = []
        for name, process, required, constant in self._binds:
            if name in values:
                value = values[name]
                arguments.append(process(value) if process is not None and value is not None else value)
            elif required:
                raise TypeError(f"the query's parameter {name!r} is not given")
            else:
                arguments.append(constant)
        return arguments

    async def all(self, connection: asyncpg.Connection, **values: Any) -> Sequence[asyncpg.Record]:
        rows: list[asyncpg.Record] = await connection.fetch(self.sql, *self._arguments(values))
        return rows

    async def one_or_none(self, connection: asyncpg.Connection, **values: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await connection.fetchrow(self.sql, *self._arguments(values))
        return row

    async def scalar(self, connection: asyncpg.Connection, **values: Any) -> Any:
        return await connection.fetchval(self.sql, *self._arguments(values))


class PagedQuery:
    """Keyset pages of a SELECT on the driver: ``core.pagination``'s order, cursor and page, with
    two compiled forms (the first page, and the page after a cursor).

    The order is one direction throughout (``(createdAt, id)`` newest first, ``(sortOrder, id)``),
    ending with a unique column; the "after" condition compares the keys as one row value, which
    an index on those columns serves as an index condition.
    """

    __slots__ = ("_after", "_first", "_kinds", "_names")

    def __init__(self, statement: Select[*tuple[Any, ...]], order: Sequence[Key]) -> None:
        descending = {key.descending for key in order}
        if len(descending) != 1:
            raise TypeError("a PagedQuery's keys go in one direction")
        statement = statement.order_by(*ordering(order)).limit(bindparam("limit"))
        columns = [key.column for key in order]
        bounds = [bindparam(f"after_{i}", type_=column.type) for i, column in enumerate(columns)]
        left, right = tuple_(*columns), tuple_(*bounds)
        self._first = Query(statement)
        self._after = Query(statement.where(left < right if order[0].descending else left > right))
        self._kinds = [key_kind(key) for key in order]
        self._names = tuple(column.name for column in columns)

    async def page(
        self, connection: asyncpg.Connection, *, limit: int, cursor: str | None, **values: Any
    ) -> Page[asyncpg.Record]:
        limit = max(1, min(limit, MAX_PAGE))
        if cursor:
            after = decode_cursor(cursor, self._kinds)
            bounds = {f"after_{i}": value for i, value in enumerate(after)}
            rows = await self._after.all(connection, limit=limit + 1, **bounds, **values)
        else:
            rows = await self._first.all(connection, limit=limit + 1, **values)
        if len(rows) <= limit:
            return Page(list(rows), None)
        items = list(rows[:limit])
        return Page(items, encode_cursor(tuple(items[-1][name] for name in self._names)))
