"""The spec's "Database Statistics Queries": table sizes, row counts, index usage, unused indexes.

The spec's SQL does not run as written: ``pg_stat_user_tables`` and ``pg_stat_user_indexes``
have no ``tablename``/``indexname`` columns (those belong to the ``pg_tables``/``pg_indexes``
views); their columns are ``relname`` and ``indexrelname``. The queries below use those. They
also fix three smaller faults of the originals:

* sizes are taken by the table's OID (``relid``) instead of ``schemaname||'.'||tablename``,
  which fails for any name that needs quoting;
* the spec's "index size" (total minus heap) also counted TOAST; indexes are measured with
  ``pg_indexes_size`` and TOAST is shown on its own;
* unused indexes exclude primary keys by ``pg_index.indisprimary`` rather than
  ``indexrelname NOT LIKE '%_pkey'`` (where ``_`` is a LIKE wildcard), and say which of them
  are unique: those enforce a constraint even when no query scans them.

Counters are cumulative since the server's statistics were last reset, and ``n_live_tup`` is
an estimate maintained by the statistics system (exact only right after ANALYZE/VACUUM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from spikeland.db.engine import SERVER_SETTINGS, async_url

Value = str | int | float | None


@dataclass(frozen=True)
class StatTable:
    """One result: a title, column headings and rows (values as the database returned them)."""

    title: str
    headers: list[str]
    rows: list[tuple[Value, ...]]
    note: str = ""
    key: str = field(default="", compare=False)  # a stable identifier: sizes, rows, index_usage, unused


# (key, title, headers, SQL, note); :schema is bound, and :limit (NULL = all rows)
QUERIES: list[tuple[str, str, list[str], str, str]] = [
    (
        "sizes",
        "Table sizes",
        ["table", "total", "table data", "indexes", "toast"],
        """
        SELECT relname,
               pg_size_pretty(pg_total_relation_size(relid)),
               pg_size_pretty(pg_relation_size(relid)),
               pg_size_pretty(pg_indexes_size(relid)),
               pg_size_pretty(pg_total_relation_size(relid) - pg_relation_size(relid)
                              - pg_indexes_size(relid))
        FROM pg_stat_user_tables
        WHERE schemaname = :schema
        ORDER BY pg_total_relation_size(relid) DESC, relname
        LIMIT :limit
        """,
        "",
    ),
    (
        "rows",
        "Row counts",
        ["table", "rows (estimate)", "inserts", "updates", "deletes"],
        """
        SELECT relname, n_live_tup, n_tup_ins, n_tup_upd, n_tup_del
        FROM pg_stat_user_tables
        WHERE schemaname = :schema
        ORDER BY n_live_tup DESC, relname
        LIMIT :limit
        """,
        "rows are the statistics system's estimate; counters run since the last statistics reset",
    ),
    (
        "index_usage",
        "Index usage",
        ["table", "index", "scans", "tuples read", "tuples fetched"],
        """
        SELECT relname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch
        FROM pg_stat_user_indexes
        WHERE schemaname = :schema
        ORDER BY idx_scan DESC, relname, indexrelname
        LIMIT :limit
        """,
        "",
    ),
    (
        "unused",
        "Unused indexes",
        ["table", "index", "size", "unique"],
        """
        SELECT s.relname, s.indexrelname, pg_size_pretty(pg_relation_size(s.indexrelid)),
               CASE WHEN i.indisunique THEN 'yes' ELSE 'no' END
        FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
        WHERE s.schemaname = :schema AND s.idx_scan = 0 AND NOT i.indisprimary
        ORDER BY pg_relation_size(s.indexrelid) DESC, s.relname, s.indexrelname
        LIMIT :limit
        """,
        "never scanned since the last statistics reset; unique ones still enforce a constraint",
    ),
]


async def collect(url: str, *, schema: str = "public", limit: int | None = None) -> list[StatTable]:
    """Run the four statistics queries on the database at ``url`` (one snapshot, read-only).

    ``limit`` caps the rows of each table (all rows when ``None``).
    """
    engine = create_async_engine(
        async_url(url), poolclass=NullPool, connect_args={"server_settings": SERVER_SETTINGS}
    )
    tables = []
    try:
        async with engine.connect() as conn:
            for key, title, headers, sql, note in QUERIES:
                result = await conn.execute(text(sql), {"schema": schema, "limit": limit})
                rows = [tuple(row) for row in result]
                tables.append(StatTable(title=title, headers=headers, rows=rows, note=note, key=key))
            await conn.rollback()
    finally:
        await engine.dispose()
    return tables


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def render_table(table: StatTable) -> str:
    """One table as aligned text: title, headings, a rule, rows (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in table.rows]
    widths = [len(h) for h in table.headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    numeric = [
        bool(table.rows) and all(isinstance(row[i], int | float) or row[i] is None for row in table.rows)
        for i in range(len(table.headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [table.title, "=" * len(table.title), line(table.headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    if not cells:
        out.append("(no rows)")
    if table.note:
        out.append(f"({table.note})")
    return "\n".join(out)


def render(tables: Sequence[StatTable]) -> str:
    """All tables as readable aligned text, separated by blank lines."""
    return "\n\n".join(render_table(t) for t in tables) + "\n"
