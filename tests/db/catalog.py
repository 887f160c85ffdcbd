"""A live database's schema as facts comparable with the committed catalogue (``spikeland.db.contract``).

Each fact is a tuple led by its kind; two schemas agree when their sets of facts are equal, so a
difference reads as the facts one side has and the other lacks.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from spikeland.db.contract import Contract

Fact = tuple[object, ...]

# The same catalog queries whatever the server's version (tested on 15 and 18).
COLUMNS = """
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid)
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND a.attnum > 0 AND NOT a.attisdropped"""
INDEXES = """
    SELECT t.relname, i.relname, ix.indisunique, ix.indisprimary,
           ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)
    FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_class i ON i.oid = ix.indexrelid
    WHERE t.relnamespace = 'public'::regnamespace"""
FOREIGN_KEYS = """
    SELECT c.relname, con.conname,
           ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
           r.relname,
           ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord),
           con.confdeltype::text, con.confupdtype::text
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_class r ON r.oid = con.confrelid
    WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace"""
ENUMS = """
    SELECT t.typname, ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                            ORDER BY e.enumsortorder)
    FROM pg_type t WHERE t.typtype = 'e' AND t.typnamespace = 'public'::regnamespace"""
# Everything else a migration could add: other relations (views, sequences), constraints that
# are not keys (checks, exclusions, unique constraints rather than unique indexes), triggers and
# functions; an extension's own functions are not ours.
OTHER = """
    SELECT 'relation', relname, relkind::text FROM pg_class
    WHERE relnamespace = 'public'::regnamespace AND relkind NOT IN ('r', 'p', 'i')
    UNION ALL
    SELECT 'constraint', conrelid::regclass::text, conname FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace AND contype IN ('c', 'u', 'x', 't')
    UNION ALL
    SELECT 'trigger', tgrelid::regclass::text, tgname FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'function', proname, '' FROM pg_proc p
    WHERE pronamespace = 'public'::regnamespace AND NOT EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"""

ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


async def live_facts(url: str) -> set[Fact]:
    conn = await asyncpg.connect(url)
    try:
        facts: set[Fact] = {("table", table) for table, *_ in await conn.fetch(COLUMNS)}
        for table, column, typ, nullable, default in await conn.fetch(COLUMNS):
            facts.add(("column", table, column, typ, nullable, default))
        for table, name, unique, primary, columns in await conn.fetch(INDEXES):
            if primary:
                facts.add(("primary key", table, name, tuple(columns)))
            else:
                facts.add(("index", table, name, tuple(columns), unique))
        for table, name, columns, target, target_columns, on_delete, on_update in await conn.fetch(
            FOREIGN_KEYS
        ):
            actions = ACTIONS[on_delete], ACTIONS[on_update]
            facts.add(("foreign key", table, name, tuple(columns), target, tuple(target_columns), *actions))
        facts |= {("enum", name, tuple(labels)) for name, labels in await conn.fetch(ENUMS)}
        facts |= {(kind, a, b) if b else (kind, a) for kind, a, b in await conn.fetch(OTHER)}
        return facts
    finally:
        await conn.close()


def contract_facts(contract: Contract) -> set[Fact]:
    facts: set[Fact] = {("enum", name, labels) for name, labels in contract.enums.items()}
    for table in contract.tables.values():
        facts.add(("table", table.name))
        facts |= {("column", table.name, c.name, c.type, c.nullable, c.default) for c in table.columns}
        if table.primary_key is not None:
            facts.add(("primary key", table.name, table.primary_key.name, table.primary_key.columns))
        facts |= {("index", table.name, i.name, i.columns, i.unique) for i in table.indexes}
        facts |= {
            ("foreign key", table.name, f.name, f.columns, f.references, f.referenced_columns, *f.actions)
            for f in table.foreign_keys
        }
    return facts


def of_kind(facts: Iterable[Fact], kind: str) -> set[Fact]:
    return {f for f in facts if f[0] == kind}
